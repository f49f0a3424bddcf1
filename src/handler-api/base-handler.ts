import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { isPyTorchWeights, pytorchWeightsMessage } from '../archive/torchserve-only.js';
import type { Context } from './context.js';
import { openModelSession } from './model-session.js';
import type { Handler, RequestRow, ResponseValue } from './types.js';

/** Thrown by a handler to answer with its own status and message (TorchServe's PredictionException). */
export class PredictionException extends Error {
  readonly errorCode: number;
  constructor(message: string, errorCode = 500) {
    super(message);
    this.name = 'PredictionException';
    this.errorCode = errorCode;
  }
}

/** Options every ONNX session of a worker should use: bounded threads, full graph optimisation. */
export function sessionOptions(context: Context): ort.InferenceSession.SessionOptions {
  return threadSessionOptions(context.systemProperties.intra_op_threads);
}

/** `sessionOptions` for a given intra-op thread count. */
export function threadSessionOptions(intraOpThreads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle workers should not spin on cores that another worker or the HTTP thread needs.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** Reads `index_to_name.json` (`{"0": "label"}`; list values use their last element), or null. */
export function loadIndexToName(modelDir: string): Record<string, string> | null {
  const file = path.join(modelDir, 'index_to_name.json');
  if (!existsSync(file)) return null;
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) return null;
  const source =
    'object_type_names' in parsed && Array.isArray(parsed.object_type_names)
      ? Object.fromEntries(parsed.object_type_names.map((v: unknown, i: number) => [String(i), v]))
      : (parsed as Record<string, unknown>);
  const mapping: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) {
    mapping[k] = String(Array.isArray(v) ? v[v.length - 1] : v);
  }
  return mapping;
}

/**
 * The handler to extend, as TorchServe's BaseHandler: `initialize` opens the archive's serialized
 * `.onnx` file in an ONNX Runtime session (with the worker's thread budget, sharing the weights with the
 * version's other workers) and reads
 * `index_to_name.json`; `handle` runs `preprocess` → `inference` → `postprocess`, timing each phase
 * (`context.observations`) and the three together (TorchServe's `PredictionTime` metric).
 */
export abstract class BaseHandler<Pre = Record<string, ort.Tensor>, Out = ort.InferenceSession.OnnxValueMapType>
  implements Handler
{
  protected context!: Context;
  protected session: ort.InferenceSession | null = null;
  protected mapping: Record<string, string> | null = null;
  protected modelDir = '';
  initialized = false;

  async initialize(context: Context): Promise<void> {
    this.context = context;
    this.modelDir = context.systemProperties.model_dir;
    const serialized = context.manifest.model.serializedFile;
    if (serialized) {
      const file = path.join(this.modelDir, serialized);
      if (!existsSync(file)) throw new Error(`Missing the model file: ${serialized}`);
      // ONNX Runtime would only say "Protobuf parsing failed": say what the file is and what to do.
      if (isPyTorchWeights(serialized)) throw new Error(pytorchWeightsMessage(serialized));
      this.session = await openModelSession(file, sessionOptions(context), context.systemProperties.shared_weights_dir ?? null);
    }
    this.mapping = loadIndexToName(this.modelDir);
    this.initialized = true;
  }

  async handle(data: RequestRow[], context: Context): Promise<ResponseValue[]> {
    this.context = context;
    if (context.getRequestHeader(0, 'describe') === 'True') return [this.describeHandle()];
    const obs = context.observations;
    const start = performance.now();
    const pre = await this.preprocess(data);
    const preprocessed = performance.now();
    const out = await this.inference(pre);
    const inferred = performance.now();
    const responses = await this.postprocess(out, data);
    const end = performance.now();
    obs.phase('preprocess', preprocessed - start);
    obs.phase('inference', inferred - preprocessed);
    obs.phase('postprocess', end - inferred);
    // TorchServe's BaseHandler reports the same metric, rounded to 0.01 ms, for the whole batch.
    context.metrics.addTime('PredictionTime', Math.round((end - start) * 100) / 100, null, 'ms');
    return responses;
  }

  /** Turns the batch's requests into model inputs. */
  abstract preprocess(data: RequestRow[]): Pre | Promise<Pre>;

  /** Runs the session on the model inputs; the default feeds `Pre` as the session's feeds. */
  async inference(input: Pre): Promise<Out> {
    if (!this.session) throw new Error('The model has no ONNX session (no serializedFile in the manifest)');
    return (await this.session.run(input as unknown as Record<string, ort.Tensor>)) as unknown as Out;
  }

  /** Turns the model output into one response per request. */
  abstract postprocess(output: Out, data: RequestRow[]): ResponseValue[] | Promise<ResponseValue[]>;

  /** The `customized=true` describe answer (spec §2.4); override to add metadata. */
  describeHandle(): ResponseValue {
    return {};
  }
}
