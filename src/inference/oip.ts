/**
 * The Open Inference Protocol (KServe v2) answers that do not depend on the transport, shared by the REST
 * routes (src/http/oip-routes.ts) and the gRPC `GRPCInferenceService` (src/grpc/oip-service.ts): server
 * and model metadata, model readiness, and the built-in text_classifier's own OIP inference, where each
 * text of a BYTES tensor is one classifier request.
 */
import { randomUUID } from 'node:crypto';
import type { InferenceRequest } from '../envelopes/tensor.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { SERVER_VERSION, type ModelVersion } from '../registry/model-version.js';
import type { JobOutcome } from '../scheduling/job.js';
import { isUnusable } from '../workers/handler-source.js';
import { submitPrediction, type Submission } from './submit.js';

/** An OIP error with the HTTP status it stands for (each transport maps the status to its own code). */
export class OipError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What these answers need from the server. */
export type OipDeps = Parameters<typeof submitPrediction>[0] & {
  config: { serviceEnvelope: string | null };
  manager: { registry: ModelRegistry };
};

export interface OipTensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** `$metadata_model_response`. */
export interface OipModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: OipTensorMetadata[];
  outputs: OipTensorMetadata[];
}

/** One output tensor of an answer, `data` flattened. */
export interface OipOutputTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/** `$inference_response`, in the order the REST route has always sent its keys. */
export interface OipInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OipOutputTensor[];
}

/** `$metadata_server_response`: ortserve's name and version; no OIP extensions. */
export function serverMetadata(): { name: string; version: string; extensions: string[] } {
  return { name: 'ortserve', version: SERVER_VERSION, extensions: [] };
}

/** The built-in text_classifier answers OIP itself when no envelope is configured. */
export function isTextClassifier(mv: ModelVersion): boolean {
  return !isUnusable(mv.handler) && mv.handler.builtin && mv.archive.manifest.model.handler === 'text_classifier';
}

/** True when the text_classifier's own OIP answers apply to `mv` (no service_envelope configured). */
export function speaksOip(deps: OipDeps, mv: ModelVersion): boolean {
  return !deps.config.serviceEnvelope && isTextClassifier(mv);
}

/** A model version is ready when one of its workers is. */
export function isModelReady(mv: ModelVersion): boolean {
  return mv.workerList.some((w) => w.state === 'ready');
}

/** Only the text_classifier's tensors are known; other handlers list none. */
export function modelMetadata(deps: OipDeps, mv: ModelVersion): OipModelMetadata {
  const text = speaksOip(deps, mv);
  return {
    name: mv.name,
    versions: deps.manager.registry.versions(mv.name).map((v) => v.version),
    platform: 'onnxruntime_onnx',
    inputs: text ? [{ name: 'text', datatype: 'BYTES', shape: [-1] }] : [],
    outputs: text
      ? [
          { name: 'label', datatype: 'BYTES', shape: [-1] },
          { name: 'score', datatype: 'FP32', shape: [-1] },
        ]
      : [],
  };
}

/** The classifier's answer for one text: its best label and probability, or the error to send. */
function bestLabel(outcome: JobOutcome, element: number): { label: string; score: number } {
  if (!outcome.ok) throw new OipError(outcome.error.status, outcome.error.message);
  const r = outcome.response;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength).toString('utf8'));
  } catch {
    body = null;
  }
  if (r.status !== 200) {
    const message = (body as { message?: unknown } | null)?.message;
    throw new OipError(r.status, `Text ${element}: ${typeof message === 'string' ? message : 'prediction failed'}`);
  }
  const best = Array.isArray(body) ? (body[0] as { label?: unknown; score?: unknown } | undefined) : undefined;
  if (typeof best?.label !== 'string' || typeof best.score !== 'number') throw new OipError(500, 'Unexpected answer from the text_classifier');
  return { label: best.label, score: best.score };
}

/** The text_classifier's OIP inference under way: its jobs (for the transport to track) and its answer. */
export interface TextClassification {
  submissions: Submission[];
  /** Rejects with OipError when a text's prediction failed. */
  response: Promise<OipInferResponse>;
}

/**
 * OIP on the built-in text_classifier: each text of the BYTES input is one classifier request
 * (`{"text": …}` with `headers`), so the texts of one or many clients are batched together by the
 * scheduler. Throws OipError for a request the classifier cannot take, and the queue's errors (then
 * nothing stays queued).
 */
export function classifyTexts(
  deps: OipDeps,
  mv: ModelVersion,
  version: string | null,
  req: InferenceRequest,
  headers: Record<string, string>,
  requestId: string,
): TextClassification {
  if (req.inputs.length !== 1 || req.inputs[0]!.datatype !== 'BYTES') {
    const got = req.inputs.map((i) => `${i.name} (${i.datatype})`).join(', ');
    throw new OipError(400, `The text_classifier takes one BYTES input tensor of texts, got ${got}`);
  }
  const known = ['label', 'score'];
  const wanted = req.outputs ?? known;
  const unknown = wanted.find((n) => !known.includes(n));
  if (unknown !== undefined) throw new OipError(400, `Unknown output "${unknown}": the text_classifier has outputs label, score`);
  const texts = req.inputs[0]!.data as string[];
  const submissions: Submission[] = [];
  try {
    for (const text of texts) {
      const request = {
        requestId: randomUUID(),
        headers,
        parameters: [{ name: 'body', contentType: 'application/json', value: Buffer.from(JSON.stringify({ text }), 'utf8') }],
      };
      submissions.push(submitPrediction(deps, mv.name, version, request));
    }
  } catch (err) {
    // The queue could not take them all: what was queued is not worth a worker's time any more.
    for (const s of submissions) (s.job.cancelled = true), s.finished(null);
    throw err;
  }
  const response = Promise.all(submissions.map((s) => s.outcome)).then((outcomes) => {
    const best = outcomes.map(bestLabel);
    const outputs: OipOutputTensor[] = [];
    if (wanted.includes('label')) outputs.push({ name: 'label', shape: [texts.length], datatype: 'BYTES', data: best.map((b) => b.label) });
    if (wanted.includes('score')) outputs.push({ name: 'score', shape: [texts.length], datatype: 'FP32', data: best.map((b) => b.score) });
    return { model_name: mv.name, model_version: mv.version, id: req.id ?? requestId, outputs };
  });
  return { submissions, response };
}
