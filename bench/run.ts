/**
 * `npm run bench` (`npm run bench -- --quick` for a short sanity run): issue 3's benchmark, in one run.
 *
 * Every measurement runs in a process of its own: the raw ONNX Runtime loop (bench/raw.ts), each server
 * (`ortserve --start --foreground`, bench/lib/server-process.ts), each load (bench/load.ts) and the
 * weight-sharing probe (bench/sharing.ts). Servers of one section are started together, idle servers cost
 * no CPU (ONNX Runtime threads do not spin), and loads alternate between them so that comparisons are back
 * to back; the comparisons the targets depend on are repeated, interleaved, and reported as medians.
 *
 * Sections (`--sections`, comma-separated): raw, fp32, int8, workers, tiny, sharing. Durations:
 * `--duration` (loads at concurrency > 1), `--c1-passes` (concurrency-1 loads run whole passes over the
 * corpus, so they see the same texts as the raw single-sequence latency), `--tiny-duration`, `--warmup`,
 * `--raw-seconds`, `--repeats`. Scheduler settings: `--batch-size`, `--max-batch-delay`,
 * `--max-batch-tokens` (unset: the server's default). `--cpu-prof` profiles the servers
 * (.bench/profiles/). The report is printed and saved to .bench/results/.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { LoadResult } from './load.js';
import { CORPUS_FILE, PROJECT_ROOT, loadCorpus } from './lib/corpus.js';
import {
  MACHINE,
  ServerProcess,
  busyCores,
  machineBusy,
  machineTicks,
  readCpuSeconds,
  sampleRss,
  waitQuiet,
  type ServerSpec,
} from './lib/server-process.js';
import { fmt, fmtInt, markdownTable, median, verdict } from './lib/stats.js';
import { BENCH_DIR, ensureModel, type BenchModel, type BenchModelName } from './models.js';
import type { RawPoint, RawResult } from './raw.js';
import type { SharingPoint } from './sharing.js';

// --- options -----------------------------------------------------------------------------------------

export const SECTIONS = ['raw', 'fp32', 'int8', 'workers', 'tiny', 'sharing'] as const;
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

// --- child processes -------------------------------------------------------------------------------

const DIST_BENCH = fileURLToPath(new URL('.', import.meta.url));
const log = (m: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Runs `node dist/bench/<script>` and parses its last stdout line as JSON; stderr lines go to `onLine`. */
function runNodeJson<T>(script: string, args: string[], onLine: (line: string) => void = (l) => log(l)): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIST_BENCH, script), ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      let nl: number;
      while ((nl = err.indexOf('\n')) >= 0) {
        onLine(err.slice(0, nl));
        err = err.slice(nl + 1);
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${err}${out.slice(-2000)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON result: ${out.slice(-2000)}`));
      }
    });
  });
}

// --- scenarios -------------------------------------------------------------------------------------

type Scheduler = 'adaptive' | 'torchserve';

interface ServerConfigDesc {
  model: BenchModelName;
  scheduler: Scheduler;
  batchSize: number;
  maxBatchDelay: number;
  maxBatchTokens: number | null;
  workers: number;
  threads: number;
}

interface RunningScenario {
  name: string;
  desc: ServerConfigDesc;
  server: ServerProcess;
  modelName: string;
}

export interface ServerRun {
  section: string;
  scenario: string;
  desc: ServerConfigDesc;
  concurrency: number;
  window: string;
  load: LoadResult;
  /** Server CPU during the window, in cores (2.0 = both cores busy). */
  serverCpu: number;
  rssMaxMiB: number;
  meanBatch: number | null;
  /** CPU used on the machine during the window by anything but this server and its load generator, in cores. */
  otherCpu: number;
}

const DTYPE: Record<BenchModelName, string> = { 'base-fp32': 'fp32', 'base-int8': 'int8', tiny: 'fp32' };

async function startScenario(o: BenchOptions, name: string, model: BenchModel, desc: ServerConfigDesc): Promise<RunningScenario> {
  const properties: Record<string, string> = { batch_scheduler: desc.scheduler };
  if (desc.maxBatchTokens !== null) properties.max_batch_tokens = String(desc.maxBatchTokens);
  if (desc.threads !== Math.floor(MACHINE.cores / desc.workers)) properties.intra_op_threads = String(desc.threads);
  const spec: ServerSpec = { label: name, properties };
  if (o.cpuProf) {
    // One directory per server: every thread (HTTP and workers) writes its own CPU.*.cpuprofile there.
    const dir = path.join(BENCH_DIR, 'profiles', `${name}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    spec.nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  }
  const t0 = Date.now();
  const server = await ServerProcess.start(spec);
  try {
    await server.register({
      mar: model.mar,
      modelName: 'clf',
      batchSize: desc.batchSize,
      maxBatchDelay: desc.maxBatchDelay,
      initialWorkers: desc.workers,
    });
  } catch (err) {
    await server.stop(5000);
    throw err;
  }
  log(`server ${name} ready (pid ${server.pid}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return { name, desc, server, modelName: 'clf' };
}

interface LoadPlan {
  concurrency: number;
  durationSec?: number;
  requests?: number;
}

async function loadOnce(o: BenchOptions, section: string, s: RunningScenario, plan: LoadPlan, offset = 0): Promise<ServerRun> {
  const args = [
    '--url', s.server.inferenceUrl,
    '--model', s.modelName,
    '--concurrency', String(plan.concurrency),
    '--warmup', String(o.warmupSec),
    '--offset', String(offset),
  ];
  const token = s.server.token('inference');
  if (token) args.push('--token', token);
  if (plan.requests !== undefined) args.push('--requests', String(plan.requests));
  else args.push('--duration', String(plan.durationSec ?? o.durationSec));
  const pid = s.server.pid;
  const busy = await waitQuiet(o.waitIdleMs);
  if (busy >= 0.15) log(`machine still ${fmt(busy * 100, 0)} % busy; measuring anyway`);
  let ticksStart = machineTicks();
  let ticksEnd = ticksStart;
  let cpuStart = Number.NaN;
  let cpuEnd = Number.NaN;
  const batch: { start: { sum: number; count: number } | null } = { start: null };
  let batchEnd: Promise<{ sum: number; count: number } | null> = Promise.resolve(null);
  let rss: { stop(): number } | null = null;
  const pending: Array<Promise<unknown>> = [];
  const load = await runNodeJson<LoadResult>('load.js', args, (line) => {
    if (line === 'window:start') {
      cpuStart = readCpuSeconds(pid);
      ticksStart = machineTicks();
      rss = sampleRss(pid);
      pending.push(s.server.batchSizeTotals().then((t) => (batch.start = t)));
    } else if (line === 'window:end') {
      cpuEnd = readCpuSeconds(pid);
      ticksEnd = machineTicks();
      batchEnd = s.server.batchSizeTotals();
    } else {
      log(line);
    }
  });
  await Promise.all(pending);
  const end = await batchEnd;
  const rssMax = (rss as { stop(): number } | null)?.stop() ?? Number.NaN;
  const b0 = batch.start;
  const meanBatch = b0 && end && end.count > b0.count ? (end.sum - b0.sum) / (end.count - b0.count) : null;
  const run: ServerRun = {
    section,
    scenario: s.name,
    desc: s.desc,
    concurrency: plan.concurrency,
    window: plan.requests !== undefined ? `${plan.requests} req` : `${fmt(load.seconds, 0)} s`,
    load,
    serverCpu: (cpuEnd - cpuStart) / load.seconds,
    rssMaxMiB: rssMax,
    meanBatch,
    otherCpu: Math.max(0, busyCores(ticksStart, ticksEnd) - (cpuEnd - cpuStart) / load.seconds - load.loadGenCpu),
  };
  const l = load.latency;
  log(
    `${s.name} c=${plan.concurrency}: ${fmt(load.requestsPerSec)} req/s, p50 ${fmt(l.p50, 2)} p90 ${fmt(l.p90, 2)} p99 ${fmt(l.p99, 2)} ms, ` +
      `errors ${JSON.stringify(load.errors)}, server CPU ${fmt(run.serverCpu, 2)}, other CPU ${fmt(run.otherCpu, 2)}, RSS ${fmt(rssMax, 0)} MiB`,
  );
  return run;
}

async function rawRun(o: BenchOptions, model: BenchModel, args: string[]): Promise<RawResult> {
  const busy = await waitQuiet(o.waitIdleMs);
  if (busy >= 0.15) log(`machine still ${fmt(busy * 100, 0)} % busy; measuring anyway`);
  return runNodeJson<RawResult>('raw.js', ['--model-dir', model.dir, ...args]);
}

/** Re-measures only the best raw setting (for the interleaved ratio). */
function bestArgs(best: RawPoint, seconds: number): string[] {
  return best.sessions === 2
    ? ['--batches', String(best.batch), '--threads', 'none', '--pairs', '--expect', String(best.seqPerSec), '--min-seconds', String(seconds)]
    : ['--batches', String(best.batch), '--threads', String(best.threads), '--min-seconds', String(seconds)];
}

// --- the run -----------------------------------------------------------------------------------------

interface Ratio {
  dtype: string;
  rawSetting: string;
  rawSweepBest: number;
  rawRepeats: number[];
  serverRepeats: number[];
  /** Median of server ÷ raw over the interleaved pairs. */
  ratio: number;
}

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
  failures: string[];
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
  if (has('raw') || has('fp32') || has('workers') || has('sharing')) need.push('base-fp32');
  if (has('raw') || has('int8') || has('workers') || has('sharing')) need.push('base-int8');
  if (has('tiny')) need.push('tiny');
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
  const start = async (name: string, model: BenchModel, desc: ServerConfigDesc): Promise<RunningScenario> => {
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
      if (!has(dtype === 'fp32' ? 'fp32' : 'int8') && o.sections.length > 1) continue;
      await attempt(`raw ${dtype}`, async () => {
        report.raw[dtype] = await rawRun(o, models[name]!, rawArgs);
      });
    }
  }

  const ratioRepeats = async (dtype: 'fp32' | 'int8', model: BenchModel, server: RunningScenario, section: string): Promise<void> => {
    const best = report.raw[dtype]?.best;
    if (!best) return;
    const r: Ratio = {
      dtype,
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
    await attempt('workers', async () => {
      const m = models['base-fp32']!;
      const w2 = await start('fp32-2x1', m, base('base-fp32', 'adaptive', { workers: 2, threads: 1 }));
      report.runs.push(await loadOnce(o, 'workers', w2, plan(1)));
      report.runs.push(await loadOnce(o, 'workers', w2, plan(32)));
      await w2.server.stop();
      running.delete(w2);
      const i2 = await start('int8-2x1', models['base-int8']!, base('base-int8', 'adaptive', { workers: 2, threads: 1 }));
      report.runs.push(await loadOnce(o, 'workers', i2, plan(32)));
    });
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

  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  report.elapsedSec = (Date.now() - started) / 1000;
  return report;
}

// --- the report ----------------------------------------------------------------------------------------

const ms = (v: number): string => fmt(v, 1);

function settingsOf(d: ServerConfigDesc): string[] {
  return [
    d.model === 'tiny' ? 'tiny' : 'base',
    DTYPE[d.model],
    d.scheduler,
    String(d.batchSize),
    String(d.maxBatchDelay),
    d.maxBatchTokens === null ? 'default' : String(d.maxBatchTokens),
    `${d.workers} × ${d.threads}`,
  ];
}

const SETTINGS_HEADER = ['model', 'dtype', 'scheduler', 'batch_size', 'max_batch_delay', 'max_batch_tokens', 'workers × threads'];

function runRow(r: ServerRun): string[] {
  const errors = Object.entries(r.load.errors).map(([k, v]) => `${k}: ${v}`).join(', ') || '0';
  return [
    ...settingsOf(r.desc),
    String(r.concurrency),
    r.window,
    fmt(r.load.requestsPerSec, 1),
    ms(r.load.latency.p50),
    ms(r.load.latency.p90),
    ms(r.load.latency.p99),
    r.meanBatch === null ? 'n/a' : fmt(r.meanBatch, 2),
    errors,
    fmt(r.serverCpu, 2),
    fmt(r.load.loadGenCpu, 2),
    fmt(r.otherCpu, 2),
    fmt(r.rssMaxMiB, 0),
  ];
}

const RUN_HEADER = [...SETTINGS_HEADER, 'conc.', 'window', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'mean batch', 'errors', 'server CPU', 'loadgen CPU', 'other CPU', 'RSS MiB'];

function medianRun(runs: ServerRun[]): ServerRun | null {
  if (runs.length === 0) return null;
  const sorted = [...runs].sort((a, b) => a.load.requestsPerSec - b.load.requestsPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export function renderReport(r: BenchReport): string {
  const o = r.options;
  const out: string[] = [];
  const m = r.machine;
  out.push(`## ortserve benchmark, ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC${o.quick ? ' (--quick)' : ''}`);
  out.push('');
  out.push(
    markdownTable(
      ['machine', 'cores', 'memory', 'node', 'onnxruntime-node', 'commit', 'busy before run', 'run time'],
      [[m.cpu, String(m.cores), `${fmt(m.memGiB, 0)} GiB`, m.node, m.ort, m.commit, `${fmt(m.busyBefore * 100, 0)} %`, `${fmt(r.elapsedSec / 60, 1)} min`]],
    ),
  );
  out.push('');
  const corpus = r.raw.fp32?.corpus ?? r.raw.int8?.corpus;
  if (corpus) {
    out.push(
      `Corpus: ${corpus.texts} texts (bench/corpus/events.txt), ${fmt(corpus.meanTokens, 1)} tokens on average after truncation at 210 ` +
        `(p50 ${fmt(corpus.p50Tokens, 0)}, p90 ${fmt(corpus.p90Tokens, 0)}, max ${fmt(corpus.maxTokens, 0)}); ` +
        `${fmt(corpus.under64 * 100, 0)} % under 64 tokens, ${fmt(corpus.atCap * 100, 1)} % cut at 210. ` +
        `Load: closed loop, PUT /predictions/clf with one corpus line as body, ${o.warmupSec} s warm-up; ` +
        (o.c1Passes > 0
          ? `concurrency-1 windows (ortserve scheduler) are ${o.c1Passes} whole pass(es) over the corpus (${o.c1Passes * corpus.texts} requests), other windows ${o.durationSec} s.`
          : `every window ${o.durationSec} s.`),
    );
    out.push('');
  }

  // Raw ceiling.
  out.push('### Raw ONNX Runtime ceiling (no server)');
  out.push('');
  const rawRows: string[][] = [];
  for (const dtype of ['fp32', 'int8'] as const) {
    const raw = r.raw[dtype];
    if (!raw) continue;
    const ratio = r.ratios.find((x) => x.dtype === dtype);
    rawRows.push([
      dtype,
      raw.best ? `${raw.best.sessions} × ${raw.best.threads}, batch ${raw.best.batch}` : 'n/a',
      fmt(raw.best?.seqPerSec, 1),
      ratio ? `${fmt(median(ratio.rawRepeats), 1)} (${ratio.rawRepeats.map((v) => fmt(v, 0)).join(', ')})` : 'n/a',
      fmtInt(raw.best?.paddedTokPerSec),
      raw.single ? ms(raw.single.p50) : 'n/a',
      raw.single ? ms(raw.single.mean) : 'n/a',
    ]);
  }
  out.push(
    markdownTable(
      ['dtype', 'best setting (sessions × threads)', 'best seq/s (sweep)', 'best setting re-run, median (runs)', 'padded tok/s', 'single p50 ms', 'single mean ms'],
      rawRows,
    ),
  );
  out.push('');
  for (const dtype of ['fp32', 'int8'] as const) {
    const raw = r.raw[dtype];
    if (!raw) continue;
    const settings = [...new Set(raw.sweep.map((p) => `${p.sessions} × ${p.threads}`))];
    const batches = [...new Set(raw.sweep.map((p) => p.batch))];
    out.push(`Raw sweep, ${dtype}, sequences/s (texts sorted by length, padded to the longest of each batch):`);
    out.push('');
    out.push(
      markdownTable(
        ['sessions × threads', ...batches.map((b) => `batch ${b}`)],
        settings.map((s) => [s, ...batches.map((b) => fmt(raw.sweep.find((p) => `${p.sessions} × ${p.threads}` === s && p.batch === b)?.seqPerSec, 1))]),
      ),
    );
    out.push('');
  }

  // Server runs.
  const sweep = r.runs.filter((x) => x.section === 'fp32 sweep');
  if (sweep.length) {
    out.push('### Server, DistilBERT-base fp32: TorchServe-style baseline vs ortserve scheduler');
    out.push('');
    out.push(markdownTable(RUN_HEADER, sweep.map(runRow)));
    out.push('');
    const rows: string[][] = [];
    for (const c of o.concurrency) {
      const t = sweep.find((x) => x.concurrency === c && x.desc.scheduler === 'torchserve');
      const a = sweep.find((x) => x.concurrency === c && x.desc.scheduler === 'adaptive');
      if (t && a) {
        rows.push([String(c), fmt(a.load.requestsPerSec / t.load.requestsPerSec, 2), fmt(t.load.latency.p50 / a.load.latency.p50, 2), fmt(t.load.latency.p99 / a.load.latency.p99, 2)]);
      }
    }
    out.push('Gain of the ortserve scheduler over the baseline (same batch_size and max_batch_delay):');
    out.push('');
    out.push(markdownTable(['concurrency', 'req/s ×', 'p50 ÷', 'p99 ÷'], rows));
    out.push('');
  }
  const other = r.runs.filter((x) => x.section !== 'fp32 sweep');
  if (other.length) {
    out.push('### Other server runs (delay comparison, ratio repeats, int8, 2 workers × 1 thread, tiny model)');
    out.push('');
    out.push(markdownTable(['section', ...RUN_HEADER], other.map((x) => [x.section, ...runRow(x)])));
    out.push('');
  }

  // RSS.
  const rssRows: string[][] = [];
  const rssOf = (pred: (x: ServerRun) => boolean): number => {
    const values = r.runs.filter(pred).map((x) => x.rssMaxMiB).filter(Number.isFinite);
    return values.length ? Math.max(...values) : Number.NaN;
  };
  for (const [label, pred] of [
    ['fp32, 1 worker × 2 threads', (x: ServerRun) => x.scenario === 'fp32-adaptive'],
    ['fp32, 2 workers × 1 thread', (x: ServerRun) => x.scenario === 'fp32-2x1'],
    ['int8, 1 worker × 2 threads', (x: ServerRun) => x.scenario === 'int8-adaptive'],
    ['int8, 2 workers × 1 thread', (x: ServerRun) => x.scenario === 'int8-2x1'],
    ['tiny, 1 worker × 2 threads', (x: ServerRun) => x.scenario === 'tiny-adaptive'],
  ] as const) {
    const v = rssOf(pred);
    if (Number.isFinite(v)) rssRows.push([label, fmt(v, 0)]);
  }
  if (rssRows.length) {
    out.push('### Server memory (max VmRSS of the server process during its loads)');
    out.push('');
    out.push(markdownTable(['server', 'RSS MiB'], rssRows));
    out.push('');
  }

  // Weight sharing.
  for (const dtype of ['fp32', 'int8'] as const) {
    const pts = r.sharing[dtype];
    if (!pts) continue;
    out.push(`### Sharing one copy of the weights between two sessions, ${dtype} (bench/sharing.ts)`);
    out.push('');
    out.push(
      markdownTable(
        ['how the sessions load', 'RSS 1 → 2 sessions MiB', 'private (RssAnon) added MiB', 'PSS added MiB', 'create ms (1st, 2nd)', 'seq/s, batch 8, 2 threads'],
        pts.map((p) => [
          p.case === 'onnx' ? '.onnx file (what the server does)' : p.case === 'ort-mmap' ? '.ort, mmapped, initializers in place' : '.ort, mmapped, in place, no prepacking',
          `${fmt(p.rss[0], 0)} → ${fmt(p.rss[1], 0)}`,
          fmt(p.secondAnon, 0),
          fmt(p.secondPss, 0),
          `${fmt(p.createMs[0], 0)}, ${fmt(p.createMs[1], 0)}`,
          fmt(p.seqPerSec, 1),
        ]),
      ),
    );
    out.push('');
  }

  // Targets.
  out.push('### Issue 3 targets');
  out.push('');
  const targets: string[][] = [];
  for (const ratio of r.ratios) {
    targets.push([
      `server c32 ≥ 0.90 × raw ceiling, ${ratio.dtype} (1 worker × ${MACHINE.cores} threads)`,
      `${fmt(median(ratio.serverRepeats), 1)} ÷ ${fmt(median(ratio.rawRepeats), 1)} seq/s = ${fmt(ratio.ratio, 2)} (median of ${ratio.rawRepeats.length} interleaved pairs; ÷ sweep best ${fmt(ratio.rawSweepBest, 1)}: ${fmt(median(ratio.serverRepeats) / ratio.rawSweepBest, 2)})`,
      '≥ 0.90',
      verdict(ratio.ratio, 0.9),
    ]);
  }
  for (const ratio of r.ratios) {
    const model = ratio.dtype === 'fp32' ? 'base-fp32' : 'base-int8';
    const w2 = r.runs.find((x) => x.section === 'workers' && x.desc.model === model && x.desc.workers === 2 && x.concurrency === 32);
    if (!w2) continue;
    const v = w2.load.sequencesPerSec / median(ratio.rawRepeats);
    targets.push([
      `(same, with 2 workers × 1 thread, ${ratio.dtype})`,
      `${fmt(w2.load.sequencesPerSec, 1)} ÷ ${fmt(median(ratio.rawRepeats), 1)} seq/s = ${fmt(v, 2)} (one window, not interleaved)`,
      '≥ 0.90',
      verdict(v, 0.9),
    ]);
  }
  for (const dtype of ['fp32', 'int8'] as const) {
    const pairs = r.c1Pairs[dtype];
    if (!pairs || pairs.raw.length === 0) continue;
    const diff = median(pairs.server.map((v, i) => v - pairs.raw[i]!));
    targets.push([
      `p50 at c1 ≤ raw single + 1 ms, ${dtype} (max_batch_delay ${o.maxBatchDelay})`,
      `${ms(median(pairs.server))} vs ${ms(median(pairs.raw))} ms: +${fmt(diff, 2)} ms (median difference over ${pairs.raw.length} interleaved pairs; ` +
        `server ${pairs.server.map((v) => fmt(v, 1)).join(', ')}; raw ${pairs.raw.map((v) => fmt(v, 1)).join(', ')})`,
      '≤ 1 ms',
      verdict(diff, 1, true),
    ]);
  }
  if (r.delay) {
    const a = median(r.delay.withDelay);
    const b = median(r.delay.withoutDelay);
    targets.push([
      `p50 at c1, max_batch_delay ${o.maxBatchDelay} vs 0, fp32`,
      `${ms(a)} vs ${ms(b)} ms: ${fmt(a - b, 2)} ms (medians of ${r.delay.withDelay.length} interleaved pairs)`,
      '|Δ| ≤ 2 ms',
      verdict(Math.abs(a - b), 2, true),
    ]);
  }
  for (const tiny64 of r.runs.filter((x) => x.desc.model === 'tiny' && x.concurrency === 64)) {
    targets.push([
      `tiny model at c64 (${tiny64.desc.workers} × ${tiny64.desc.threads})`,
      `${fmtInt(tiny64.load.requestsPerSec)} req/s, p99 ${ms(tiny64.load.latency.p99)} ms`,
      '≥ 4,000 req/s, p99 < 50 ms',
      tiny64.load.requestsPerSec >= 4000 && tiny64.load.latency.p99 < 50 ? 'met' : 'not met',
    ]);
  }
  out.push(markdownTable(['target', 'measured', 'goal', 'verdict'], targets));
  out.push('');

  // Does the scheduler switch take effect?
  const tsC1 = sweep.find((x) => x.concurrency === 1 && x.desc.scheduler === 'torchserve');
  const adC1 = sweep.find((x) => x.concurrency === 1 && x.desc.scheduler === 'adaptive');
  if (tsC1 && adC1) {
    const gap = tsC1.load.latency.p50 - adC1.load.latency.p50;
    out.push(
      `Settings check: at concurrency 1 the torchserve scheduler's p50 is ${fmt(gap, 1)} ms above the adaptive one's ` +
        `(expected ≈ max_batch_delay = ${o.maxBatchDelay} ms if \`batch_scheduler\` takes effect): ` +
        `${gap > o.maxBatchDelay * 0.7 ? 'it does' : 'it does NOT seem to'}. Mean batch size: ` +
        `${r.runs.some((x) => x.meanBatch !== null) ? 'from `ortserve_batch_size` in GET /metrics' : 'n/a (no `ortserve_batch_size` in GET /metrics yet)'}.`,
    );
    out.push('');
  }
  if (r.failures.length) {
    out.push('Failures:');
    out.push('');
    for (const f of r.failures) out.push(`- ${f.split('\n')[0]}`);
    out.push('');
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const report = await runBench(o);
  const md = renderReport(report);
  const dir = path.join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  writeFileSync(path.join(dir, `${stamp}.md`), `${md}\n`);
  writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.md'), `${md}\n`);
  console.log(md);
  log(`saved .bench/results/${stamp}.md and .json`);
  if (report.failures.length) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
