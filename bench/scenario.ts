/**
 * One server configuration of a section (a scenario), started as its own `ortserve` process, and the
 * single measurements the sections are made of: a load window against a running scenario (bench/load.ts
 * in a child process, with the server's CPU, RSS and batch sizes sampled over the same window), or a
 * run of the raw ONNX Runtime loop (bench/raw.ts). Each waits for the machine to be quiet first.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LoadResult } from './load.js';
import { log, runNodeJson } from './lib/script-process.js';
import {
  MACHINE,
  ServerProcess,
  busyCores,
  machineTicks,
  readCpuSeconds,
  sampleRss,
  waitQuiet,
  type ServerSpec,
} from './lib/server-process.js';
import { fmt } from './lib/stats.js';
import { BENCH_DIR, type BenchModel, type BenchModelName } from './models.js';
import type { BenchOptions } from './options.js';
import type { RawPoint, RawResult } from './raw.js';

/** `adaptive`: ortserve's scheduler; `torchserve`: the TorchServe-style baseline (wait for a full batch or the delay). */
export type Scheduler = 'adaptive' | 'torchserve';

/** The settings a scenario's server is started and registered with (what the report's settings columns show). */
export interface ServerConfigDesc {
  /** A generated benchmark model, or the bundled model-store/taxonomy.mar (bench/section-taxonomy.ts). */
  model: BenchModelName | 'taxonomy';
  scheduler: Scheduler;
  batchSize: number;
  maxBatchDelay: number;
  maxBatchTokens: number | null;
  workers: number;
  threads: number;
}

export interface RunningScenario {
  name: string;
  desc: ServerConfigDesc;
  server: ServerProcess;
  modelName: string;
}

/** One load window against one scenario, with what was sampled on the server side. */
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

/** Starts a server and registers the model as `clf`; the server is stopped again if registration fails. */
export async function startScenario(o: BenchOptions, name: string, model: Pick<BenchModel, 'mar'>, desc: ServerConfigDesc): Promise<RunningScenario> {
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

/** A load window: `requests` (a fixed count, e.g. whole corpus passes) or else `durationSec`. */
export interface LoadPlan {
  concurrency: number;
  durationSec?: number;
  requests?: number;
}

/**
 * One load window against a running scenario. The load generator marks the window's edges on stderr, so
 * that the server's CPU, RSS and batch-size counters are read over exactly the measured window.
 */
export async function loadOnce(o: BenchOptions, section: string, s: RunningScenario, plan: LoadPlan, offset = 0): Promise<ServerRun> {
  const args = [
    '--url', s.server.inferenceUrl,
    '--model', s.modelName,
    '--concurrency', String(plan.concurrency),
    '--warmup', String(o.warmupSec),
    '--offset', String(offset),
  ];
  const token = s.server.token('inference');
  if (token) args.push(`--token=${token}`);
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

/** One run of the raw ONNX Runtime loop (bench/raw.ts) with `args`, after waiting for a quiet machine. */
export async function rawRun(o: BenchOptions, model: Pick<BenchModel, 'dir'>, args: string[]): Promise<RawResult> {
  const busy = await waitQuiet(o.waitIdleMs);
  if (busy >= 0.15) log(`machine still ${fmt(busy * 100, 0)} % busy; measuring anyway`);
  return runNodeJson<RawResult>('raw.js', ['--model-dir', model.dir, ...args]);
}

/** Re-measures only the best raw setting (for the interleaved ratio). */
export function bestArgs(best: RawPoint, seconds: number): string[] {
  return best.sessions === 2
    ? ['--batches', String(best.batch), '--threads', 'none', '--pairs', '--expect', String(best.seqPerSec), '--min-seconds', String(seconds)]
    : ['--batches', String(best.batch), '--threads', String(best.threads), '--min-seconds', String(seconds)];
}
