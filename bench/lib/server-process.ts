/**
 * An ortserve server as a separate process, the way an operator runs it:
 * `node dist/src/cli/ortserve.js --start --foreground --ts-config <dir>/config.properties`, in a private
 * directory (its key_file.json, logs, pid file and extraction directory), on loopback port 0. Models are
 * registered through the management API with TorchServe's parameters, and the process is stopped with
 * SIGTERM. Also: RSS and CPU sampling from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR } from '../models.js';
import { PROJECT_ROOT } from './corpus.js';
import { histogramTotals } from './stats.js';
import { freePort } from '../../tools/lib/free-port.js';

export interface ServerSpec {
  /** A short name for logs and the scenario directory. */
  label: string;
  /** Extra config.properties lines (batch_scheduler, max_batch_tokens, intra_op_threads, …). */
  properties: Record<string, string>;
  /** Extra node flags for the server process (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Archives copied into the model store before the server starts (name in the store → source path). */
  storeFiles?: Record<string, string>;
}

export interface Registration {
  /** The .mar file; copied into the server's model store. */
  mar: string;
  modelName: string;
  batchSize: number;
  /** Unset: not sent, the server's default (the "defaults, no tuning" rows send only batch_size). */
  maxBatchDelay?: number;
  initialWorkers?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { freePort };

export class ServerProcess {
  readonly dir: string;
  readonly child: ChildProcess;
  inferenceUrl = '';
  managementUrl = '';
  metricsUrl = '';
  private output = '';
  private exited: Promise<number | null>;

  private constructor(dir: string, child: ChildProcess, metricsUrl: string) {
    this.dir = dir;
    this.child = child;
    this.metricsUrl = metricsUrl;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Starts the server and waits until it listens. */
  static async start(spec: ServerSpec): Promise<ServerProcess> {
    mkdirSync(path.join(BENCH_DIR, 'runs'), { recursive: true });
    const dir = mkdtempSync(path.join(BENCH_DIR, 'runs', `${spec.label}-`));
    const store = path.join(dir, 'model-store');
    mkdirSync(store);
    for (const [name, source] of Object.entries(spec.storeFiles ?? {})) cpSync(source, path.join(store, name));
    mkdirSync(path.join(dir, 'tmp'));
    const metricsPort = await freePort();
    const props: Record<string, string> = {
      inference_address: 'http://127.0.0.1:0',
      management_address: 'http://127.0.0.1:0',
      metrics_address: `http://127.0.0.1:${metricsPort}`,
      // gRPC's default 7070/7071 may be taken by another server on the machine.
      grpc_inference_port: String(await freePort()),
      grpc_management_port: String(await freePort()),
      metrics_mode: 'prometheus',
      model_store: store,
      enable_model_api: 'true',
      job_queue_size: '1000',
      ...spec.properties,
    };
    writeFileSync(path.join(dir, 'config.properties'), Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    const script = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'ortserve.js');
    const child = spawn(
      process.execPath,
      [...(spec.nodeArgs ?? []), script, '--start', '--foreground', '--ts-config', 'config.properties', '--ncs'],
      {
        cwd: dir,
        // TMPDIR: the pid file (${TMPDIR}/.ortserve.pid) is private to this server, so several can run.
        env: { ...process.env, TMPDIR: path.join(dir, 'tmp'), TEMP: path.join(dir, 'tmp'), LOG_LOCATION: path.join(dir, 'logs') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const server = new ServerProcess(dir, child, `http://127.0.0.1:${metricsPort}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const inf = /Inference API bound to (\S+)/.exec(server.output);
      const mgmt = /Management API bound to (\S+)/.exec(server.output);
      if (inf && mgmt && server.output.includes('Model server started.')) {
        server.inferenceUrl = inf[1]!;
        server.managementUrl = mgmt[1]!;
        break;
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`server ${spec.label} did not start:\n${server.output}`);
      }
      await sleep(50);
    }
    return server;
  }

  token(kind: 'inference' | 'management'): string | null {
    const file = path.join(this.dir, 'key_file.json');
    if (!existsSync(file)) return null;
    const keys = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { key: string }>;
    return keys[kind]?.key ?? null;
  }

  /** Registers a model synchronously with TorchServe's register parameters. */
  async register(r: Registration): Promise<void> {
    const fileName = `${r.modelName}.mar`;
    cpSync(r.mar, path.join(this.dir, 'model-store', fileName));
    const q = new URLSearchParams({ url: fileName, model_name: r.modelName, batch_size: String(r.batchSize), synchronous: 'true' });
    if (r.maxBatchDelay !== undefined) q.set('max_batch_delay', String(r.maxBatchDelay));
    if (r.initialWorkers !== undefined) q.set('initial_workers', String(r.initialWorkers));
    const token = this.token('management');
    const res = await fetch(`${this.managementUrl}/models?${q}`, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(180_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`register ${r.modelName}: ${res.status} ${text}\n${this.output.slice(-3000)}`);
  }

  /** `PUT /models/<name>?min_worker=N&synchronous=true`. */
  async scale(modelName: string, minWorker: number): Promise<void> {
    const token = this.token('management');
    const res = await fetch(`${this.managementUrl}/models/${encodeURIComponent(modelName)}?min_worker=${minWorker}&synchronous=true`, {
      method: 'PUT',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(180_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`scale ${modelName}: ${res.status} ${text}`);
  }

  /** GET /models/<name> (describe), parsed. */
  async describe(modelName: string): Promise<unknown> {
    const token = this.token('management');
    const res = await fetch(`${this.managementUrl}/models/${encodeURIComponent(modelName)}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return res.json();
  }

  /** `ortserve_batch_size` totals from the metrics endpoint (issue 5), or null while it does not exist. */
  async batchSizeTotals(): Promise<{ sum: number; count: number } | null> {
    for (const base of [this.metricsUrl, this.inferenceUrl]) {
      try {
        const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) });
        if (res.status !== 200) continue;
        const totals = histogramTotals(await res.text(), 'ortserve_batch_size');
        if (totals) return totals;
      } catch {
        // no metrics listener (yet)
      }
    }
    return null;
  }

  /** SIGTERM, then wait for the exit (SIGKILL after `graceMs`); removes the run directory unless `keep`. */
  async stop(graceMs = 30_000, keep = false): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
    return code;
  }

  get log(): string {
    return this.output;
  }
}

/** VmRSS and VmHWM of a process, in MiB, or null when it is gone. */
export function readRss(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** User + system CPU seconds of a process so far. */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

/** The machine's CPU counters (/proc/stat, all cores), in clock ticks. */
export function machineTicks(): { idle: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3]! + (cpu[4] ?? 0);
  // guest times are already included in user/nice
  return { idle, total: cpu.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** Busy cores between two machineTicks() readings over `seconds` (2.0 = both cores of 2 busy). */
export function busyCores(a: { idle: number; total: number }, b: { idle: number; total: number }): number {
  const total = b.total - a.total;
  return total > 0 ? (1 - (b.idle - a.idle) / total) * os.availableParallelism() : Number.NaN;
}

/** Busy share of all cores over `ms` (from /proc/stat), to notice other work on the machine. */
export async function machineBusy(ms = 1000): Promise<number> {
  const a = machineTicks();
  await sleep(ms);
  return busyCores(a, machineTicks()) / os.availableParallelism();
}

/**
 * Waits (at most `maxMs`) until the machine is quiet: less than `threshold` of its CPU busy over 300 ms.
 * Returns the last busy share seen.
 */
export async function waitQuiet(maxMs: number, threshold = 0.15): Promise<number> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const busy = await machineBusy(300);
    if (busy < threshold || Date.now() >= deadline) return busy;
    await sleep(700);
  }
}

/** Samples the max VmRSS of `pid` every `everyMs` until stopped. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let max = 0;
  const take = (): void => {
    const r = readRss(pid);
    if (r && r.rss > max) max = r.rss;
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return max;
    },
  };
}

export const MACHINE = {
  cores: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memGiB: os.totalmem() / 2 ** 30,
};
