/**
 * Which queued jobs go together in the next batch, under the adaptive scheduler.
 *
 * On CPU, a batch costs about (jobs × longest job) tokens: padding is paid for. Batching mixed
 * lengths in arrival order wastes most of the batch on padding, which measured slower than not
 * batching at all; batches of similar lengths doubled throughput (docs/benchmarks.md). So a batch
 * is the oldest queued job (so the queue always advances) plus the queued jobs closest to it in
 * length, capped by count, by padded tokens, and by the share of padding (`MIN_EFFICIENCY`). A job
 * that younger jobs overtook `MAX_PASSES` times anchors the next batch itself, so that a job of
 * unusual length waits a few batches more than it would in arrival order, at most.
 */
import type { Job } from './job.js';

export interface BatchLimits {
  batchSize: number;
  /** Cap on jobs × longest job, in estimated tokens; a single job always fits. */
  maxBatchTokens: number;
}

/** Times a job may be overtaken (a younger job chosen instead) before its own batch comes first. */
export const MAX_PASSES = 3;

/**
 * The least share of real (unpadded) tokens a batch may have. A short job added to a batch of long ones
 * costs a long row of compute for a short row of work: better to leave it for a batch of its length.
 */
export const MIN_EFFICIENCY = 0.9;

/**
 * Picks the batch from `pool` (oldest first). The anchor is the oldest job overtaken `MAX_PASSES` times,
 * or else the oldest job; the batch is the anchor plus the jobs closest to it in length that keep the
 * batch within its caps and at least `MIN_EFFICIENCY` real tokens. Returns the chosen jobs, oldest first.
 */
export function selectBatch(pool: readonly Job[], limits: BatchLimits): Job[] {
  const anchor = pool.find((j) => j.passes >= MAX_PASSES) ?? pool[0];
  if (!anchor) return [];
  const chosen: Job[] = [anchor];
  let longest = anchor.cost;
  let real = anchor.cost;
  const byCloseness = pool
    .filter((j) => j !== anchor)
    .sort((a, b) => Math.abs(a.cost - anchor.cost) - Math.abs(b.cost - anchor.cost) || a.arrivedAt - b.arrivedAt);
  for (const job of byCloseness) {
    if (chosen.length >= limits.batchSize) break;
    const nextLongest = Math.max(longest, job.cost);
    const padded = (chosen.length + 1) * nextLongest;
    if (padded > limits.maxBatchTokens || (real + job.cost) / padded < MIN_EFFICIENCY) continue;
    chosen.push(job);
    longest = nextLongest;
    real += job.cost;
  }
  return chosen.sort((a, b) => a.arrivedAt - b.arrivedAt);
}

/** Counts a pass for each job left behind while a younger job was chosen: those were overtaken. */
export function countPasses(leftBehind: readonly Job[], chosen: readonly Job[]): void {
  const youngestChosen = Math.max(...chosen.map((j) => j.arrivedAt));
  for (const j of leftBehind) if (j.arrivedAt < youngestChosen) j.passes++;
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
