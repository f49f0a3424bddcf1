/**
 * The `defaults` section of `npm run bench` (issue 16): ortserve as a user runs it without tuning,
 * registered with `batch_size=8` and nothing else (no workers, threads, delay or token budget), on the
 * base model in fp32 and int8 and on the tiny model:
 * - throughput at concurrency 32 against the best raw layout (the raw section's sweep best, or a short
 *   sweep of 1 × 2 and 2 × 1 threads at batch 4 and 8 when raw did not run), as the median of
 *   interleaved (raw, server) pairs;
 * - peak RSS with 1 worker and with 2 workers (`initial_workers`, otherwise defaults) under the same load;
 * - the tiny model at concurrency 64 (issue 16: ≥ 5,000 req/s, p99 < 50 ms).
 */
import { log } from './lib/script-process.js';
import { median } from './lib/stats.js';
import { loadTarget, type TargetRun } from './lib/target-load.js';
import type { BenchModel } from './models.js';
import type { BenchOptions } from './options.js';
import type { RawPoint, RawResult } from './raw.js';
import { bestArgs, rawRun } from './scenario.js';
import { ortserveTarget, startDefaultOrtserve } from './section-peer.js';

export interface DefaultsRatio {
  dtype: 'fp32' | 'int8';
  raw: RawPoint;
  rawRepeats: number[];
  server: TargetRun[];
  /** Median of server ÷ raw sequences/s over the interleaved pairs. */
  ratio: number;
  /** `GET /models/clf`: what the defaults chose. */
  describe: unknown;
}

export interface DefaultsReport {
  ratios: DefaultsRatio[];
  /** Peak RSS under a concurrency-32 load with 1 and with 2 workers. */
  memory: Array<{ dtype: 'fp32' | 'int8'; workers: number; run: TargetRun }>;
  tiny: TargetRun[];
  tinyDescribe: unknown;
}

async function bestRaw(o: BenchOptions, model: BenchModel, known: RawResult | undefined): Promise<RawPoint> {
  if (known?.best) return known.best;
  log(`defaults: no raw sweep in this run; sweeping 1 × 2 and 2 × 1 at batch 4 and 8 for ${model.name}`);
  const r = await rawRun(o, model, ['--batches', '4,8', '--threads', '2', '--pairs', '--min-seconds', String(Math.max(2, o.rawSeconds))]);
  if (!r.best) throw new Error(`raw sweep of ${model.name} gave no result`);
  return r.best;
}

export async function runDefaultsSection(
  o: BenchOptions,
  models: { fp32?: BenchModel; int8?: BenchModel; tiny?: BenchModel },
  raw: Partial<Record<'fp32' | 'int8', RawResult>>,
): Promise<DefaultsReport> {
  const report: DefaultsReport = { ratios: [], memory: [], tiny: [], tinyDescribe: null };
  for (const dtype of ['fp32', 'int8'] as const) {
    const model = models[dtype];
    if (!model) continue;
    const best = await bestRaw(o, model, raw[dtype]);
    const s = await startDefaultOrtserve(`defaults-${dtype}`, model, o.batchSize);
    try {
      const r: DefaultsRatio = { dtype, raw: best, rawRepeats: [], server: [], ratio: Number.NaN, describe: await s.describe('clf') };
      const ratios: number[] = [];
      for (let i = 0; i < o.repeats; i++) {
        const rawRate = (await rawRun(o, model, bestArgs(best, Math.max(3, o.durationSec / 3)))).best?.seqPerSec ?? Number.NaN;
        const run = await loadTarget(o, `defaults ${dtype}`, ortserveTarget(`ortserve defaults ${dtype}`, s), { concurrency: 32, durationSec: o.durationSec }, i * 37);
        r.rawRepeats.push(rawRate);
        r.server.push(run);
        ratios.push(run.load.sequencesPerSec / rawRate);
      }
      r.ratio = median(ratios);
      report.ratios.push(r);
    } finally {
      await s.stop();
    }
    for (const workers of [1, 2]) {
      const w = await startDefaultOrtserve(`defaults-${dtype}-${workers}w`, model, o.batchSize, { initialWorkers: workers });
      try {
        const run = await loadTarget(o, `memory ${dtype}`, ortserveTarget(`ortserve ${dtype}, ${workers} worker(s)`, w), { concurrency: 32, durationSec: o.durationSec });
        report.memory.push({ dtype, workers, run });
      } finally {
        await w.stop();
      }
    }
  }
  if (models.tiny) {
    const t = await startDefaultOrtserve('defaults-tiny', models.tiny, o.batchSize);
    try {
      report.tinyDescribe = await t.describe('clf');
      for (let i = 0; i < o.repeats; i++) {
        report.tiny.push(await loadTarget(o, 'defaults tiny', ortserveTarget('ortserve defaults tiny', t), { concurrency: 64, durationSec: o.tinyDurationSec }, i * 37));
      }
    } finally {
      await t.stop();
    }
  }
  return report;
}
