/**
 * Pure helpers of the benchmark: percentiles, medians, corpus statistics and Markdown formatting.
 * Nothing here does I/O, so test/bench covers it without a model or a server.
 */

import { percentile, type LatencySummary } from '../../src/evaluation/latency.js';

// One percentile method for the benchmark and `ortserve evaluate`: NumPy's default.
export { percentile, type LatencySummary };

/** Ascending copy of the values as a Float64Array (numeric sort, not string sort). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>).sort();
}

export function median(values: ArrayLike<number>): number {
  return percentile(sortedCopy(values), 50);
}

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}


/** Summary of latencies (any unit; the benchmark uses milliseconds). */
export function summarizeLatencies(values: ArrayLike<number>): LatencySummary {
  const s = sortedCopy(values);
  return {
    count: s.length,
    mean: mean(s),
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1]! : Number.NaN,
  };
}

export interface CorpusStats {
  texts: number;
  /** Token counts after truncation, special tokens included. */
  meanTokens: number;
  p50Tokens: number;
  p90Tokens: number;
  maxTokens: number;
  /** Share of texts with fewer than 64 tokens. */
  under64: number;
  /** Share of texts cut at the cap. */
  atCap: number;
  /** Share of texts with more than 120 words (the long tail). */
  longTail: number;
  words: { mean: number; max: number };
}

/** Statistics of a tokenized corpus: `tokens[i]` is text i's token count after truncation at `cap`. */
export function corpusStats(texts: readonly string[], tokens: readonly number[], cap: number): CorpusStats {
  if (texts.length !== tokens.length) throw new Error(`${texts.length} texts but ${tokens.length} token counts`);
  const words = texts.map(wordCount);
  const s = sortedCopy(tokens);
  const share = (pred: (i: number) => boolean): number => (texts.length ? texts.filter((_, i) => pred(i)).length / texts.length : Number.NaN);
  return {
    texts: texts.length,
    meanTokens: mean(tokens),
    p50Tokens: percentile(s, 50),
    p90Tokens: percentile(s, 90),
    maxTokens: s.length ? s[s.length - 1]! : Number.NaN,
    under64: share((i) => tokens[i]! < 64),
    atCap: share((i) => tokens[i]! >= cap),
    longTail: share((i) => words[i]! > 120),
    words: { mean: mean(words), max: Math.max(0, ...words) },
  };
}

export function wordCount(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

/**
 * Cuts texts sorted by token length into batches of `batchSize` consecutive texts (the raw loop's
 * policy), and returns, per batch, the indices of its texts (into `lengths`) and its padded length.
 */
export function sortedBatches(lengths: readonly number[], batchSize: number): Array<{ rows: number[]; padded: number }> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: Array<{ rows: number[]; padded: number }> = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const rows = order.slice(i, i + batchSize);
    batches.push({ rows, padded: Math.max(...rows.map((r) => lengths[r]!)) });
  }
  return batches;
}

/** Padded tokens of a batch plan (what ONNX Runtime computes over). */
export function paddedTokens(batches: ReadonlyArray<{ rows: readonly number[]; padded: number }>): number {
  return batches.reduce((sum, b) => sum + b.rows.length * b.padded, 0);
}

/** Mean batch size from Prometheus text: `<name>_sum` / `<name>_count` over every label set, or null if absent. */
export function histogramTotals(metricsText: string, name: string): { sum: number; count: number } | null {
  let sum = 0;
  let count = 0;
  let found = false;
  for (const line of metricsText.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    if (m[1] === `${name}_sum`) {
      sum += value;
      found = true;
    } else if (m[1] === `${name}_count`) {
      count += value;
      found = true;
    }
  }
  return found ? { sum, count } : null;
}

// --- formatting -------------------------------------------------------------------------------------

/** A number with `digits` decimals, or "n/a" for null/NaN. */
export function fmt(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return value.toFixed(digits);
}

/** Thousands separators for large counts (`4,213`). */
export function fmtInt(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}

/** A Markdown table; cells are escaped for `|`. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (cells: readonly string[]): string => `| ${cells.map(esc).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** "met" / "not met" with the margin, for a target of the form value ≥ goal (or ≤ when `atMost`). */
export function verdict(value: number | null, goal: number, atMost = false): 'met' | 'not met' | 'n/a' {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  return (atMost ? value <= goal : value >= goal) ? 'met' : 'not met';
}
