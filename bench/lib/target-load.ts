/**
 * One load window (bench/load.ts in a child process) against any server the bench started: ortserve,
 * the floor or the peer. Over exactly the measured window it samples the server's process tree: peak
 * summed RSS, CPU, and the CPU of the process's main thread (for ortserve and the floor, the HTTP
 * thread: the hot-path measure of issue 16, in CPU ms per request).
 */
import { readFileSync } from 'node:fs';
import type { LoadResult } from '../load.js';
import type { BenchOptions } from '../options.js';
import type { LoadPlan } from '../scenario.js';
import { sampleTreeMemory, treeCpuSeconds } from './external-server.js';
import { log, runNodeJson } from './script-process.js';
import { waitQuiet } from './server-process.js';
import { fmt } from './stats.js';

/** A running server to load: its base URL, the pid of its (parent) process, its inference token. */
export interface LoadTarget {
  name: string;
  url: string;
  pid: number;
  token: string | null;
  /** The path's model name (`PUT /predictions/<model>`). */
  model: string;
}

export interface TargetRun {
  section: string;
  target: string;
  concurrency: number;
  load: LoadResult;
  /** CPU of the whole process tree during the window, in cores. */
  cpu: number;
  /** CPU of the main thread of the target's process per request answered, ms. */
  mainCpuMsPerRequest: number;
  /** Peak summed RSS of the process tree during the window, MiB. */
  rssMaxMiB: number;
  /** Peak summed PSS of the process tree (sampled every second), MiB: shared pages counted once. */
  pssMaxMiB: number;
}

/** CPU seconds of one thread (`/proc/<pid>/task/<tid>/stat`); the main thread's tid is the pid. */
function threadCpuSeconds(pid: number, tid = pid): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

export async function loadTarget(o: BenchOptions, section: string, t: LoadTarget, plan: LoadPlan, offset = 0): Promise<TargetRun> {
  const args = ['--url', t.url, '--model', t.model, '--concurrency', String(plan.concurrency), '--warmup', String(o.warmupSec), '--offset', String(offset)];
  if (t.token) args.push(`--token=${t.token}`);
  if (plan.requests !== undefined) args.push('--requests', String(plan.requests));
  else args.push('--duration', String(plan.durationSec ?? o.durationSec));
  const busy = await waitQuiet(o.waitIdleMs);
  if (busy >= 0.15) log(`machine still ${fmt(busy * 100, 0)} % busy; measuring anyway`);
  let cpu0 = Number.NaN;
  let cpu1 = Number.NaN;
  let main0 = Number.NaN;
  let main1 = Number.NaN;
  let memory: ReturnType<typeof sampleTreeMemory> | null = null;
  const load = await runNodeJson<LoadResult>('load.js', args, (line) => {
    if (line === 'window:start') {
      cpu0 = treeCpuSeconds(t.pid);
      main0 = threadCpuSeconds(t.pid);
      memory = sampleTreeMemory(t.pid);
    } else if (line === 'window:end') {
      cpu1 = treeCpuSeconds(t.pid);
      main1 = threadCpuSeconds(t.pid);
    } else {
      log(line);
    }
  });
  const run: TargetRun = {
    section,
    target: t.name,
    concurrency: plan.concurrency,
    load,
    cpu: (cpu1 - cpu0) / load.seconds,
    mainCpuMsPerRequest: ((main1 - main0) * 1000) / Math.max(1, load.requests),
    rssMaxMiB: Number.NaN,
    pssMaxMiB: Number.NaN,
  };
  const peak = (memory as ReturnType<typeof sampleTreeMemory> | null)?.stop();
  if (peak) {
    run.rssMaxMiB = peak.rss;
    run.pssMaxMiB = peak.pss;
  }
  const l = load.latency;
  log(
    `${t.name} c=${plan.concurrency}: ${fmt(load.requestsPerSec)} req/s, p50 ${fmt(l.p50, 2)} p99 ${fmt(l.p99, 2)} ms, errors ${JSON.stringify(load.errors)}, ` +
      `CPU ${fmt(run.cpu, 2)}, main thread ${fmt(run.mainCpuMsPerRequest, 3)} ms/req, RSS ${fmt(run.rssMaxMiB, 0)} MiB, PSS ${fmt(run.pssMaxMiB, 0)} MiB`,
  );
  return run;
}

/** The answers of a target to `texts` (PUT /predictions/<model>, one text each), to check that servers agree. */
export async function answers(t: LoadTarget, texts: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const text of texts) {
    const res = await fetch(`${t.url}/predictions/${t.model}`, {
      method: 'PUT',
      body: Buffer.from(text, 'utf8'),
      headers: t.token ? { authorization: `Bearer ${t.token}` } : {},
      signal: AbortSignal.timeout(30_000),
    });
    // The status and the answer's first line: enough to compare, short enough to print.
    out.push(`${res.status} ${(await res.text()).trim().split('\n')[0]!.slice(0, 80)}`);
  }
  return out;
}
