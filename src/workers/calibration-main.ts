/**
 * A calibration thread (issue 16): opens one session of the model with a given intra-op thread count
 * (from the version's shared ORT file, so it costs little memory), feeds it synthetic inputs of the
 * model's shapes, and times batches when told. Several of these run at once to measure a layout of
 * several workers; they run off the HTTP thread, so `/ping` and other models are never waiting on them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { threadSessionOptions } from '../handler-api/base-handler.js';
import { openModelSession } from '../handler-api/model-session.js';

export interface CalibrationInit {
  file: string;
  cacheDir: string | null;
  threads: number;
  /** Length given to every symbolic dimension after the first (the batch). */
  length: number;
  /** Session runs per measurement. */
  runs: number;
}

export type ToCalibration = { type: 'run'; batch: number } | { type: 'stop' };
export type FromCalibration = { type: 'ready' } | { type: 'ran'; batch: number; ms: number } | { type: 'failed'; message: string };

const init = workerData as CalibrationInit;
const port = parentPort!;
const post = (m: FromCalibration): void => port.postMessage(m);

/** A tensor of the declared type and shape, symbolic dimensions resolved; null for a type not synthesized. */
function syntheticTensor(meta: ort.InferenceSession.ValueMetadata, batch: number): ort.Tensor | null {
  if (!meta.isTensor) return null;
  const dims = (meta.shape.length === 0 ? ['batch'] : meta.shape).map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? batch : init.length));
  const size = dims.reduce((a, b) => a * b, 1);
  switch (meta.type) {
    case 'float32':
      return new ort.Tensor('float32', new Float32Array(size).fill(0.5), dims);
    // Token ids and masks: 1 is a valid id in any vocabulary and a "keep" mask.
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(size).fill(1n), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(size).fill(1), dims);
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(size).fill(1), dims);
    default:
      return null;
  }
}

async function main(): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await openModelSession(init.file, threadSessionOptions(init.threads), init.cacheDir);
  } catch (err) {
    post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  const feeds = (batch: number): Record<string, ort.Tensor> | string => {
    const out: Record<string, ort.Tensor> = {};
    for (const meta of session.inputMetadata) {
      const t = syntheticTensor(meta, batch);
      if (t === null) return `cannot synthesize the input "${meta.name}"`;
      out[meta.name] = t;
    }
    return out;
  };
  port.on('message', (m: ToCalibration) => {
    if (m.type === 'stop') {
      // Ending by itself, after the session is released: terminating a thread while ONNX Runtime still
      // calls back into it aborts the process.
      void session.release().finally(() => port.close());
      return;
    }
    void (async () => {
      const f = feeds(m.batch);
      if (typeof f === 'string') return post({ type: 'failed', message: f });
      try {
        await session.run(f); // warm-up: first runs of a shape allocate
        const start = performance.now();
        for (let i = 0; i < init.runs; i++) await session.run(f);
        post({ type: 'ran', batch: m.batch, ms: (performance.now() - start) / init.runs });
      } catch (err) {
        post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  post({ type: 'ready' });
}

void main();
