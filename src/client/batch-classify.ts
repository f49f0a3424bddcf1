/**
 * Sends every text of a file to one model, `concurrency` at a time, with a progress bar. Answers that
 * are about one row (a 400 for an empty or oversized text) are kept as that row's failure; answers
 * that are about the server or the model (401, 404, 503 after every retry, no connection) stop the run,
 * since every other row would fail the same way.
 */
import { performance } from 'node:perf_hooks';
import { ConnectionError, ServerError, type InferenceClient, type Prediction } from './inference-client.js';
import { mapConcurrent } from './pool.js';
import { startProgress } from './progress.js';

export type RowOutcome =
  | { ok: true; predictions: Prediction[]; latencyMs: number }
  | { ok: false; error: string };

export interface BatchResult {
  model: string;
  outcomes: RowOutcome[];
  /** Wall time of the whole batch. */
  wallMs: number;
}

export interface BatchOptions {
  concurrency: number;
  /** Labels asked for per text; null for all. */
  topK: number | null;
  /** Progress bar label prefix (the model name is added). */
  label: string;
  /** The path of the label list in answers that are objects (answer-field.ts); null: none. */
  field?: readonly string[] | null;
}

/** A run that cannot go on: the message says what the server answered. */
export class BatchAbortedError extends Error {}

/** 4xx answers that depend on the text sent, not on the server or the model. */
const ROW_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

/** TorchServe answers a wrong or expired key with 400 InvalidKeyException: that is about every row. */
const isRowError = (err: ServerError): boolean => ROW_STATUSES.has(err.status) && err.type !== 'InvalidKeyException';

export async function classifyAll(client: InferenceClient, model: string, texts: readonly string[], o: BatchOptions): Promise<BatchResult> {
  const progress = startProgress(`${o.label} ${model}`, texts.length);
  const started = performance.now();
  try {
    const outcomes = await mapConcurrent(texts, o.concurrency, async (text): Promise<RowOutcome> => {
      try {
        const r = await client.classify(model, text, o.topK, o.field ?? null);
        return { ok: true, predictions: r.predictions, latencyMs: r.latencyMs };
      } catch (err) {
        if (err instanceof ServerError && isRowError(err)) return { ok: false, error: `${err.status} ${err.message}` };
        if (err instanceof ServerError) throw new BatchAbortedError(`model ${model}: the server answered ${err.status} ${err.type}: ${err.message}`);
        if (err instanceof ConnectionError) throw new BatchAbortedError(`model ${model}: ${err.message}`);
        throw err;
      } finally {
        progress.tick();
      }
    });
    return { model, outcomes, wallMs: performance.now() - started };
  } finally {
    progress.stop();
  }
}
