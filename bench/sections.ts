/**
 * The measurement sections of `npm run bench` (see bench/run.ts), run in order: the raw ceilings first,
 * with nothing else running, then fp32, int8, workers, tiny and sharing. A section that fails is recorded
 * in the report's failures and the run goes on; its servers are stopped either way.
 */
import { execFileSync } from 'node:child_process';
import { CORPUS_FILE, PROJECT_ROOT, loadCorpus } from './lib/corpus.js';
import { log, runNodeJson } from './lib/script-process.js';
import { MACHINE, machineBusy } from './lib/server-process.js';
import { fmt, median } from './lib/stats.js';
import { ensureModel, type BenchModel, type BenchModelName } from './models.js';
import type { BenchOptions, Section } from './options.js';
import type { RawResult } from './raw.js';
import {
  bestArgs,
  loadOnce,
  rawRun,
  startScenario,
  type LoadPlan,
  type RunningScenario,
  type Scheduler,
  type ServerConfigDesc,
  type ServerRun,
} from './scenario.js';
import type { SharingPoint } from './sharing.js';
import { runTaxonomySection, type TaxonomyResult } from './section-taxonomy.js';
import { runImageSection, type ImageSectionResult } from './section-image.js';
import { runDefaultsSection, type DefaultsReport } from './section-defaults.js';
import { runPeerSection, type PeerReport } from './section-peer.js';

/** Server throughput at concurrency 32 against the raw ceiling, from interleaved repeats. */
export interface Ratio {
  dtype: string;
  /** The server's layout: `1 × 2, batch 8`. */
  serverSetting: string;
  rawSetting: string;
  rawSweepBest: number;
  rawRepeats: number[];
  serverRepeats: number[];
  /** Median of server ÷ raw over the interleaved pairs. */
  ratio: number;
}

/** Everything one run measured; saved as JSON next to the Markdown report, which is rendered from it. */
export interface BenchReport {
  options: BenchOptions;
  startedAt: string;
  elapsedSec: number;
  machine: typeof MACHINE & { node: string; ort: string; busyBefore: number; commit: string };
  raw: Partial<Record<'fp32' | 'int8', RawResult>>;
  runs: ServerRun[];
  ratios: Ratio[];
  delay: { withDelay: number[]; withoutDelay: number[] } | null;
  /** Interleaved (raw single-sequence p50, server p50 at concurrency 1) pairs, per dtype. */
  c1Pairs: Partial<Record<'fp32' | 'int8', { raw: number[]; server: number[] }>>;
  sharing: Partial<Record<'fp32' | 'int8', SharingPoint[]>>;
  taxonomy?: TaxonomyResult;
  image?: ImageSectionResult;
  failures: string[];
  /** Issue 16's sections (bench/section-defaults.ts, bench/section-peer.ts), when they ran. */
  defaults?: DefaultsReport;
  peer?: PeerReport;
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', 'src'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head} + uncommitted changes in src/` : head;
  } catch {
    return 'unknown';
  }
}

/** Runs the selected sections (`o.sections`) and returns what they measured; failures are in the report. */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const started = Date.now();
  const has = (s: Section): boolean => o.sections.includes(s);
  const busyBefore = await machineBusy(1000);
  if (busyBefore > 0.15) log(`warning: the machine is ${fmt(busyBefore * 100, 0)} % busy before the run; results will be low and noisy`);
  const { ORT_VERSION } = await import('./lib/ort-bench.js');
  const report: BenchReport = {
    options: o,
    startedAt: new Date(started).toISOString(),
    elapsedSec: 0,
    machine: { ...MACHINE, node: process.version, ort: ORT_VERSION, busyBefore, commit: gitCommit() },
    raw: {},
    runs: [],
    ratios: [],
    delay: null,
    c1Pairs: {},
    sharing: {},
    failures: [],
  };
  const models: Partial<Record<BenchModelName, BenchModel>> = {};
  const need: BenchModelName[] = [];
  if (has('raw') || has('fp32') || has('workers') || has('sharing') || has('defaults')) need.push('base-fp32');
  if (has('raw') || has('int8') || has('workers') || has('sharing') || has('defaults') || has('peer')) need.push('base-int8');
  if (has('tiny') || has('defaults')) need.push('tiny');
  for (const n of need) models[n] = await ensureModel(n, log);
  const base = (m: BenchModelName, scheduler: Scheduler, extra: Partial<ServerConfigDesc> = {}): ServerConfigDesc => ({
    model: m,
    scheduler,
    batchSize: o.batchSize,
    maxBatchDelay: o.maxBatchDelay,
    maxBatchTokens: o.maxBatchTokens,
    workers: 1,
    threads: MACHINE.cores,
    ...extra,
  });
  const c1Requests = o.c1Passes * loadCorpus(CORPUS_FILE).length;
  const plan = (c: number, scheduler: Scheduler = 'adaptive'): LoadPlan =>
    c === 1 && scheduler === 'adaptive' && c1Requests > 0
      ? { concurrency: 1, requests: c1Requests }
      : { concurrency: c, durationSec: o.durationSec };
  const running = new Set<RunningScenario>();
  const stopAll = async (): Promise<void> => {
    await Promise.all([...running].map((s) => s.server.stop(30_000, o.cpuProf)));
    running.clear();
  };
  const start = async (name: string, model: Pick<BenchModel, 'mar'>, desc: ServerConfigDesc): Promise<RunningScenario> => {
    const s = await startScenario(o, name, model, desc);
    running.add(s);
    return s;
  };
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      const msg = `${what}: ${err instanceof Error ? err.message : String(err)}`;
      log(`FAILED ${msg}`);
      report.failures.push(msg.slice(0, 2000));
    } finally {
      await stopAll();
    }
  };
  const onSignal = (): void => {
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // Raw ceilings first, with nothing else running.
  if (has('raw')) {
    const rawArgs = ['--batches', o.rawBatches.join(','), '--threads', o.rawThreads.join(','), '--min-seconds', String(o.rawSeconds), '--single'];
    if (o.rawPairs) rawArgs.push('--pairs');
    for (const [dtype, name] of [['fp32', 'base-fp32'], ['int8', 'base-int8']] as const) {
      if (!has(dtype === 'fp32' ? 'fp32' : 'int8') && !has('defaults') && o.sections.length > 1) continue;
      await attempt(`raw ${dtype}`, async () => {
        report.raw[dtype] = await rawRun(o, models[name]!, rawArgs);
      });
    }
  }

  const ratioRepeats = async (dtype: 'fp32' | 'int8', model: BenchModel, server: RunningScenario, section: string): Promise<void> => {
    const best = report.raw[dtype]?.best;
    if (!best) return;
    const d = server.desc;
    const r: Ratio = {
      dtype,
      serverSetting: `${d.workers} × ${d.threads}, batch ${d.batchSize}`,
      rawSetting: `${best.sessions}×${best.threads} thr, batch ${best.batch}`,
      rawSweepBest: best.seqPerSec,
      rawRepeats: [],
      serverRepeats: [],
      ratio: Number.NaN,
    };
    const ratios: number[] = [];
    for (let i = 0; i < o.repeats; i++) {
      const raw = await rawRun(o, model, bestArgs(best, Math.max(3, o.durationSec / 3)));
      const rawRate = raw.best?.seqPerSec ?? Number.NaN;
      const run = await loadOnce(o, section, server, plan(32), i * 37);
      report.runs.push(run);
      r.rawRepeats.push(rawRate);
      r.serverRepeats.push(run.load.sequencesPerSec);
      ratios.push(run.load.sequencesPerSec / rawRate);
    }
    r.ratio = median(ratios);
    report.ratios.push(r);
  };

  /** The raw single-sequence latency, re-measured (the sweep's value with --quick), or null without raw. */
  const singleLatency = async (dtype: 'fp32' | 'int8', model: BenchModel): Promise<RawResult['single']> => {
    if (!has('raw')) return null;
    if (o.quick) return report.raw[dtype]?.single ?? null;
    return (await rawRun(o, model, ['--batches', 'none', '--threads', 'none', '--single'])).single;
  };

  if (has('fp32')) {
    await attempt('fp32', async () => {
      const m = models['base-fp32']!;
      const ts = await start('fp32-torchserve', m, base('base-fp32', 'torchserve'));
      const ad = await start('fp32-adaptive', m, base('base-fp32', 'adaptive'));
      const ad0 = await start('fp32-adaptive-delay0', m, base('base-fp32', 'adaptive', { maxBatchDelay: 0 }));
      // The delay pairs first, while both servers are fresh and have served the same requests.
      const withDelay: number[] = [];
      const withoutDelay: number[] = [];
      // Shorter windows than the sweep's (one pass over the corpus each), repeated and interleaved.
      const onePass: LoadPlan = c1Requests > 0 ? { concurrency: 1, requests: c1Requests / o.c1Passes } : plan(1);
      // Each repeat also re-measures the raw single-sequence latency, for the concurrency-1 target.
      const pairs = { raw: [] as number[], server: [] as number[] };
      for (let i = 0; i < o.repeats; i++) {
        const single = await singleLatency('fp32', m);
        const a = await loadOnce(o, 'delay', ad, onePass);
        const b = await loadOnce(o, 'delay', ad0, onePass);
        report.runs.push(a, b);
        withDelay.push(a.load.latency.p50);
        withoutDelay.push(b.load.latency.p50);
        if (single) {
          pairs.raw.push(single.p50);
          pairs.server.push(a.load.latency.p50);
        }
      }
      report.delay = { withDelay, withoutDelay };
      if (pairs.raw.length) report.c1Pairs.fp32 = pairs;
      for (const c of o.concurrency) {
        report.runs.push(await loadOnce(o, 'fp32 sweep', ts, plan(c, 'torchserve')));
        report.runs.push(await loadOnce(o, 'fp32 sweep', ad, plan(c)));
      }
      // The idle servers of this section hold memory but no CPU; the raw loop runs between loads.
      await ts.server.stop();
      running.delete(ts);
      await ad0.server.stop();
      running.delete(ad0);
      await ratioRepeats('fp32', m, ad, 'ratio');
    });
  }

  if (has('int8')) {
    await attempt('int8', async () => {
      const m = models['base-int8']!;
      if (!o.quick) {
        const ts = await start('int8-torchserve', m, base('base-int8', 'torchserve'));
        report.runs.push(await loadOnce(o, 'int8', ts, plan(32, 'torchserve')));
        await ts.server.stop();
        running.delete(ts);
      }
      const ad = await start('int8-adaptive', m, base('base-int8', 'adaptive'));
      const pairs = { raw: [] as number[], server: [] as number[] };
      for (let i = 0; i < (has('raw') ? o.repeats : 1); i++) {
        const single = await singleLatency('int8', m);
        const run = await loadOnce(o, 'int8', ad, plan(1));
        report.runs.push(run);
        if (single) {
          pairs.raw.push(single.p50);
          pairs.server.push(run.load.latency.p50);
        }
      }
      if (pairs.raw.length) report.c1Pairs.int8 = pairs;
      await ratioRepeats('int8', m, ad, 'ratio');
    });
  }

  if (has('workers')) {
    // The server laid out like the ceiling's best raw setting (sessions × threads → workers × threads,
    // batch → batch_size), so the ratio compares like with like; fp32 concurrency 1 for latency.
    for (const [dtype, name] of [['fp32', 'base-fp32'], ['int8', 'base-int8']] as const) {
      await attempt(`workers ${dtype}`, async () => {
        const best = report.raw[dtype]?.best;
        const layout = best ? { workers: best.sessions, threads: best.threads, batchSize: best.batch } : { workers: 2, threads: 1 };
        const s = await start(`${dtype}-${layout.workers}x${layout.threads}`, models[name]!, base(name, 'adaptive', layout));
        if (dtype === 'fp32') report.runs.push(await loadOnce(o, 'workers', s, plan(1)));
        if (best) await ratioRepeats(dtype, models[name]!, s, 'workers');
        else report.runs.push(await loadOnce(o, 'workers', s, plan(32)));
      });
    }
  }

  if (has('tiny')) {
    await attempt('tiny', async () => {
      const m = models.tiny!;
      const t = await start('tiny-adaptive', m, base('tiny', 'adaptive'));
      report.runs.push(await loadOnce(o, 'tiny', t, { concurrency: 1, durationSec: o.tinyDurationSec }));
      report.runs.push(await loadOnce(o, 'tiny', t, { concurrency: 64, durationSec: o.tinyDurationSec }));
      if (!o.quick) {
        await t.server.stop();
        running.delete(t);
        const t2 = await start('tiny-2x1', m, base('tiny', 'adaptive', { workers: 2, threads: 1 }));
        report.runs.push(await loadOnce(o, 'tiny', t2, { concurrency: 64, durationSec: o.tinyDurationSec }));
      }
    });
  }

  if (has('sharing')) {
    for (const [dtype, name] of [['fp32', 'base-fp32'], ['int8', 'base-int8']] as const) {
      await attempt(`sharing ${dtype}`, async () => {
        report.sharing[dtype] = await runNodeJson<SharingPoint[]>('sharing.js', ['--model-dir', models[name]!.dir]);
      });
    }
  }

  if (has('taxonomy')) {
    await attempt('taxonomy', async () => {
      report.taxonomy = await runTaxonomySection(o, start);
    });
  }

  if (has('image')) {
    await attempt('image', async () => {
      report.image = await runImageSection(o);
    });
  }

  if (has('defaults')) {
    await attempt('defaults', async () => {
      report.defaults = await runDefaultsSection(o, { fp32: models['base-fp32'], int8: models['base-int8'], tiny: models.tiny }, report.raw);
    });
  }
  if (has('peer')) await attempt('peer', async () => void (report.peer = await runPeerSection(o, models['base-int8']!)));

  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  report.elapsedSec = (Date.now() - started) / 1000;
  return report;
}
