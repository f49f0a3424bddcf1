/**
 * The operating point of a model version: workers × ONNX Runtime intra-op threads and the effective batch
 * size (issue 16). Explicit settings give it directly; with none (`workers=auto`), the server measures
 * candidate layouts on synthetic inputs (src/workers/calibration.ts) and keeps the fastest.
 */

export interface OperatingPoint {
  workers: number;
  intraOpThreads: number;
  /** The largest batch the scheduler forms: ≤ the version's `batch_size`. */
  batchSize: number;
  /** "explicit" (settings given), "calibrating", "calibrated", or "default" (calibration not possible). */
  source: 'explicit' | 'calibrating' | 'calibrated' | 'default';
  reason: string;
  /** Calibration results, sequences/s per candidate; empty unless calibrated. */
  measured: LayoutMeasurement[];
}

/** One candidate's throughput: `workers` sessions of `threads` threads, each running batches of `batch`. */
export interface LayoutMeasurement {
  workers: number;
  threads: number;
  batch: number;
  /** Synthetic sequence length (padded tokens per sequence). */
  length: number;
  seqPerSec: number;
}

/** Every workers × threads layout that fits the cores without oversubscribing them (w × t ≤ cores, t = ⌊cores / w⌋). */
export function candidateLayouts(cores: number): Array<{ workers: number; threads: number }> {
  const out: Array<{ workers: number; threads: number }> = [];
  const seen = new Set<number>();
  for (let w = 1; w <= Math.max(1, cores); w++) {
    const t = Math.max(1, Math.floor(cores / w));
    // Keep one layout per thread count: the most workers that fill the cores with it.
    if (seen.has(t)) out.pop();
    seen.add(t);
    out.push({ workers: w, threads: t });
  }
  return out;
}

/** Batch sizes worth measuring: powers of two up to `batchSize`, and `batchSize` itself, within the token budget. */
export function candidateBatches(batchSize: number, maxBatchTokens: number, length: number): number[] {
  const cap = Math.max(1, Math.min(batchSize, maxBatchTokens > 0 ? Math.floor(maxBatchTokens / Math.max(1, length)) : batchSize));
  const out: number[] = [];
  for (let b = 1; b < cap; b *= 2) out.push(b);
  out.push(cap);
  return out;
}

/**
 * Within this share of the best throughput, a candidate counts as equal; among equals the smaller batch
 * (lower latency, less waiting to fill it) and then more workers (a slow batch blocks fewer requests) win.
 */
export const TIE_SHARE = 0.03;

/** The best measured candidate, never more threads in total than `cores` nor a batch above `batchSize`. */
export function chooseOperatingPoint(measured: readonly LayoutMeasurement[], cores: number, batchSize: number): OperatingPoint | null {
  const valid = measured.filter((m) => m.workers * m.threads <= cores && m.batch <= batchSize && m.seqPerSec > 0);
  if (valid.length === 0) return null;
  const best = Math.max(...valid.map((m) => m.seqPerSec));
  const equal = valid.filter((m) => m.seqPerSec >= best * (1 - TIE_SHARE));
  equal.sort((a, b) => a.batch - b.batch || b.workers - a.workers);
  const pick = equal[0]!;
  const top = valid.reduce((a, b) => (b.seqPerSec > a.seqPerSec ? b : a));
  const runnerUp = valid
    .filter((m) => m.workers !== pick.workers)
    .reduce<LayoutMeasurement | null>((a, b) => (a === null || b.seqPerSec > a.seqPerSec ? b : a), null);
  const reason =
    `calibrated at ${pick.length} tokens per sequence: ${pick.workers} × ${pick.threads} thread(s), batch ${pick.batch}: ` +
    `${pick.seqPerSec.toFixed(1)} seq/s` +
    (top !== pick ? ` (best ${top.seqPerSec.toFixed(1)} at batch ${top.batch}, within ${TIE_SHARE * 100} %)` : '') +
    (runnerUp ? `; best other layout ${runnerUp.workers} × ${runnerUp.threads}: ${runnerUp.seqPerSec.toFixed(1)} seq/s` : '');
  return { workers: pick.workers, intraOpThreads: pick.threads, batchSize: pick.batch, source: 'calibrated', reason, measured: [...measured] };
}
