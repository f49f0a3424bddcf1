/**
 * The command-line options of `npm run bench` (bench/run.ts): which sections run, for how long, and
 * with which scheduler settings. `--quick` changes the defaults, not the meaning of any option.
 */
import { parseArgs } from 'node:util';

export const SECTIONS = ['raw', 'fp32', 'int8', 'workers', 'tiny', 'sharing', 'taxonomy', 'image', 'defaults', 'peer'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  sections: Section[];
  concurrency: number[];
  durationSec: number;
  warmupSec: number;
  c1Passes: number;
  tinyDurationSec: number;
  repeats: number;
  rawSeconds: number;
  rawBatches: number[];
  rawThreads: number[];
  rawPairs: boolean;
  batchSize: number;
  maxBatchDelay: number;
  maxBatchTokens: number | null;
  cpuProf: boolean;
  /** Longest wait, before each measurement, for the machine to become quiet (ms). */
  waitIdleMs: number;
}

function intList(v: string): number[] {
  return v.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: "${s}"`);
    return n;
  });
}

/** Parses `npm run bench -- …` arguments; unset options take the full or the `--quick` default. */
export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      sections: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'c1-passes': { type: 'string' },
      'tiny-duration': { type: 'string' },
      repeats: { type: 'string' },
      'raw-seconds': { type: 'string' },
      'raw-batches': { type: 'string' },
      'raw-threads': { type: 'string' },
      'batch-size': { type: 'string', default: '8' },
      'max-batch-delay': { type: 'string', default: '100' },
      'max-batch-tokens': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'wait-idle': { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const num = (v: string | undefined, full: number, q: number): number => {
    const n = v === undefined ? (quick ? q : full) : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`not a non-negative number: "${v}"`);
    return n;
  };
  const sections = (values.sections ?? (quick ? 'raw,fp32,int8,tiny' : SECTIONS.join(','))).split(',').map((s) => s.trim());
  for (const s of sections) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section "${s}" (${SECTIONS.join(', ')})`);
  return {
    quick,
    sections: sections as Section[],
    concurrency: intList(values.concurrency ?? (quick ? '1,32' : '1,8,32,64')),
    durationSec: num(values.duration, 15, 3),
    warmupSec: num(values.warmup, 3, 1),
    c1Passes: Math.round(num(values['c1-passes'], 1, 0)),
    tinyDurationSec: num(values['tiny-duration'], 10, 3),
    repeats: Math.max(1, Math.round(num(values.repeats, 3, 1))),
    rawSeconds: num(values['raw-seconds'], 2, 0),
    rawBatches: intList(values['raw-batches'] ?? (quick ? '8' : '1,2,4,8,16')),
    rawThreads: intList(values['raw-threads'] ?? (quick ? '2' : '1,2')),
    rawPairs: !quick,
    batchSize: Number(values['batch-size']),
    maxBatchDelay: Number(values['max-batch-delay']),
    maxBatchTokens: values['max-batch-tokens'] !== undefined ? Number(values['max-batch-tokens']) : null,
    cpuProf: values['cpu-prof'] ?? false,
    waitIdleMs: num(values['wait-idle'], 30, 5) * 1000,
  };
}
