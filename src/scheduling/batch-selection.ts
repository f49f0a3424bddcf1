/**
 * Which queued jobs go together in the next batch, under the adaptive scheduler.
 *
 * On CPU, a batch costs about (jobs × longest job) tokens: padding is paid for. Batching mixed
 * lengths in arrival order wastes most of the batch on padding, which measured slower than not
 * batching at all; batches of similar lengths doubled throughput (docs/benchmarks.md). So a batch
 * is the oldest queued job (so the queue always advances) plus the queued jobs closest to it in
 * length, capped by count and by padded tokens. A job passed over `MAX_PASSES` times is taken
 * before any other, so that a job of unusual length waits a few batches at most.
 */
import type { Job } from './job.js';

export interface BatchLimits {
  batchSize: number;
  /** Cap on jobs × longest job, in estimated tokens; a single job always fits. */
  maxBatchTokens: number;
}

/** Batches a job may be passed over before it goes first. */
export const MAX_PASSES = 3;

/**
 * Picks the batch from `pool` (oldest first). Returns the chosen jobs, oldest first; the caller puts
 * the others back and counts a pass for each.
 */
export function selectBatch(pool: readonly Job[], limits: BatchLimits): Job[] {
  const anchor = pool[0];
  if (!anchor) return [];
  const chosen: Job[] = [anchor];
  const taken = new Set<Job>(chosen);
  let longest = anchor.cost;
  const tryAdd = (job: Job): void => {
    if (chosen.length >= limits.batchSize || taken.has(job)) return;
    const padded = (chosen.length + 1) * Math.max(longest, job.cost);
    if (padded > limits.maxBatchTokens) return;
    chosen.push(job);
    taken.add(job);
    longest = Math.max(longest, job.cost);
  };
  for (const job of pool) if (job.passes >= MAX_PASSES) tryAdd(job);
  const byCloseness = pool
    .slice(1)
    .filter((j) => !taken.has(j))
    .sort((a, b) => Math.abs(a.cost - anchor.cost) - Math.abs(b.cost - anchor.cost) || a.arrivedAt - b.arrivedAt);
  for (const job of byCloseness) {
    if (chosen.length >= limits.batchSize) break;
    tryAdd(job);
  }
  return chosen.sort((a, b) => a.arrivedAt - b.arrivedAt);
}

/** Bytes of UTF-8 text per WordPiece token, roughly, for English and Spanish prose. */
const BYTES_PER_TOKEN = 4;

/**
 * A job's estimated token count from its body size: free to compute on the HTTP thread, unlike
 * tokenizing (which the worker does once). `[CLS]` and `[SEP]` add 2; the model's maximum caps it.
 */
export function estimateTokens(bodyBytes: number, maxSequenceTokens: number): number {
  return Math.min(Math.ceil(bodyBytes / BYTES_PER_TOKEN) + 2, maxSequenceTokens);
}
