/**
 * The servers the benchmark compares ortserve with (issue 16), each a process tree of its own on a
 * loopback port: the floor (bench/floor.ts) and the peer (bench/peer/app.py under uvicorn, from a
 * virtualenv the bench creates in .bench/peer-venv on first use, from the machine's pip index). Also
 * what is read of any server's process tree: its processes, their summed RSS and CPU.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR } from '../models.js';
import { MAX_LENGTH, PROJECT_ROOT } from './corpus.js';
import { freePort, readCpuSeconds, readRss } from './server-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `pid` and all its descendants (from /proc/<pid>/stat's ppid). */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parentOf.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [child, parent] of parentOf) if (parent === out[i]) out.push(child);
  return out;
}

/** Summed VmRSS (MiB) of a process tree. */
export function treeRssMiB(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + (readRss(p)?.rss ?? 0), 0);
}

/** Summed user + system CPU seconds of a process tree. */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + (Number.isFinite(readCpuSeconds(p)) ? readCpuSeconds(p) : 0), 0);
}

/**
 * Summed PSS (MiB) of a process tree, from /proc/<pid>/smaps_rollup: a page shared by several mappings
 * or processes counts once in total, where VmRSS counts a file mapped by two workers twice.
 */
export function treePssMiB(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kb / 1024;
}

/**
 * Samples the peak summed RSS of a process tree every `everyMs`, and its peak PSS every fourth sample
 * (reading smaps_rollup walks the page tables: not something to do to a server four times a second).
 */
export function sampleTreeMemory(pid: number, everyMs = 250): { stop(): { rss: number; pss: number } } {
  let rss = 0;
  let pss = 0;
  let n = 0;
  const take = (): void => {
    rss = Math.max(rss, treeRssMiB(pid));
    if (n++ % 4 === 0) pss = Math.max(pss, treePssMiB(pid));
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      n = 0;
      take();
      return { rss, pss };
    },
  };
}

/** A server process (tree) started by the bench, with its base URL. */
export class ExternalServer {
  private output = '';
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly label: string,
    readonly child: ChildProcess,
    public url: string,
  ) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get log(): string {
    return this.output;
  }

  /** The floor (bench/floor.ts) on `modelDir`, with `threads` intra-op threads. */
  static async startFloor(modelDir: string, threads: number): Promise<ExternalServer> {
    const script = path.join(PROJECT_ROOT, 'dist', 'bench', 'floor.js');
    const child = spawn(process.execPath, [script, '--model-dir', modelDir, '--threads', String(threads)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const s = new ExternalServer('floor', child, '');
    s.url = await s.waitFor(() => /floor listening on (\S+)/.exec(s.output)?.[1] ?? null, 120_000);
    return s;
  }

  /** The peer: `processes` uvicorn workers, each with one session of `threads` intra-op threads. */
  static async startPeer(python: string, modelDir: string, processes: number, threads: number): Promise<ExternalServer> {
    const port = await freePort();
    const args = ['-m', 'uvicorn', '--app-dir', path.join(PROJECT_ROOT, 'bench', 'peer'), 'app:app', '--host', '127.0.0.1', '--port', String(port)];
    args.push('--workers', String(processes), '--log-level', 'warning', '--no-access-log');
    // No __pycache__ in the source tree (CI fails on a dirty tree).
    const env = { ...process.env, PEER_MODEL_DIR: modelDir, PEER_THREADS: String(threads), PEER_MAX_LENGTH: String(MAX_LENGTH), PYTHONDONTWRITEBYTECODE: '1' };
    const child = spawn(python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const s = new ExternalServer(`peer ${processes} × ${threads}`, child, `http://127.0.0.1:${port}`);
    // Every uvicorn process must answer: with several, each ping may land on any of them.
    let healthy = 0;
    await s.waitFor(async () => ((await s.ping()) ? ++healthy : (healthy = 0)) >= 4 * processes, 180_000);
    return s;
  }

  private async ping(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  private async waitFor<T>(ready: () => T | null | Promise<T | null>, timeoutMs: number): Promise<NonNullable<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await ready();
      if (v) return v as NonNullable<T>;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        this.child.kill('SIGKILL');
        throw new Error(`${this.label} did not start:\n${this.output.slice(-3000)}`);
      }
      await sleep(200);
    }
  }

  /** SIGTERM (uvicorn's supervisor ends its workers), SIGKILL to the whole tree after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const tree = this.child.exitCode === null ? processTree(this.pid) : [];
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const p of tree) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const REQUIREMENTS = path.join(PROJECT_ROOT, 'bench', 'peer', 'requirements.txt');
export const PEER_VENV = path.join(BENCH_DIR, 'peer-venv');

/**
 * The peer's Python: `.bench/peer-venv/bin/python`, created with `python3 -m venv` and filled with
 * bench/peer/requirements.txt by pip (from whatever index pip is configured with) the first time, and
 * again whenever requirements.txt changes.
 */
export function ensurePeerVenv(log: (m: string) => void): string {
  const python = path.join(PEER_VENV, 'bin', 'python');
  const stamp = path.join(PEER_VENV, 'requirements.sha256');
  const want = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return python;
  log(`creating the peer's virtualenv in ${path.relative(PROJECT_ROOT, PEER_VENV)} (pip install -r bench/peer/requirements.txt) …`);
  rmSync(PEER_VENV, { recursive: true, force: true });
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${(r.stdout + r.stderr).slice(-3000)}`);
  };
  run('python3', ['-m', 'venv', PEER_VENV]);
  // --retries 0: a configured but unreachable index (an offline machine with a local mirror as extra
  // index) fails at once instead of after pip's back-off.
  run(path.join(PEER_VENV, 'bin', 'pip'), ['install', '--retries', '0', '-r', REQUIREMENTS]);
  writeFileSync(stamp, `${want}\n`);
  log('peer virtualenv ready');
  return python;
}
