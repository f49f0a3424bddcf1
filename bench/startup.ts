/**
 * How long `npm start` takes to be ready: the time from spawning the server with the project's own
 * config.properties (ports moved to free ones, model_store pointed at the project's model-store/) until
 * `/ping` answers 200 "Healthy" and every bundled model (each `.mar`; `load_models=all` does not load
 * workflow archives) answers a prediction through `/predictions/<name>`. Repeated, with the median, every run and
 * the load average before each run, because the machine may be shared.
 *
 *   npm run build && node dist/bench/startup.js [--runs 5] [--cpu-prof]
 *
 * `--cpu-prof` writes the server's CPU profiles (main thread and workers) to .bench/startup-profiles/, for
 * `node dist/bench/profile-summary.js`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../tools/lib/free-port.js';
import { PROJECT_ROOT } from './lib/corpus.js';
import { fmt, median } from './lib/stats.js';
import { BENCH_DIR } from './models.js';

const LISTING = 'Noche de jazz en el Café Central: cuarteto de standards, viernes a las 21:30 h, entrada 12 €.';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface StartupRun {
  /** Spawn to ready, in ms. */
  readyMs: number;
  /** Spawn to the first `/ping` 200 (the HTTP server up, whether or not models are loaded), in ms. */
  firstPingMs: number;
  loadAverage: number;
}

async function status(url: string, token: string | null, body?: string): Promise<{ code: number; text: string }> {
  try {
    const res = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'text/plain' }) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    return { code: res.status, text: await res.text() };
  } catch {
    return { code: 0, text: '' };
  }
}

/** One start of the server, measured; the server is stopped (SIGTERM) before it returns. */
export async function measureStartup(cpuProfDir: string | null): Promise<StartupRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-startup-'));
  const store = path.join(PROJECT_ROOT, 'model-store');
  const [inf, mgmt, met, grpcInf, grpcMgmt] = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
  const config = readFileSync(path.join(PROJECT_ROOT, 'config.properties'), 'utf8')
    .replace(/^inference_address=.*$/m, `inference_address=http://127.0.0.1:${inf}`)
    .replace(/^management_address=.*$/m, `management_address=http://127.0.0.1:${mgmt}`)
    .replace(/^metrics_address=.*$/m, `metrics_address=http://127.0.0.1:${met}`)
    .replace(/^model_store=.*$/m, `model_store=${store}`);
  writeFileSync(path.join(dir, 'config.properties'), `${config}\ngrpc_inference_port=${grpcInf}\ngrpc_management_port=${grpcMgmt}\n`);
  mkdirSync(path.join(dir, 'tmp'));
  const names = readdirSync(store);
  const models = names.filter((f) => f.endsWith('.mar')).map((f) => f.slice(0, -4));
  const loadAverage = os.loadavg()[0]!;
  const script = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'ortserve.js');
  const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, script, '--start', '--foreground', '--ts-config', 'config.properties'], {
    cwd: dir,
    env: { ...process.env, TMPDIR: path.join(dir, 'tmp'), LOG_LOCATION: path.join(dir, 'logs') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const base = `http://127.0.0.1:${inf}`;
    let token: string | null = null;
    let firstPingMs = Number.NaN;
    let lastPing = '';
    const pending = new Set(models.map((m) => `/predictions/${m}`));
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited:\n${output}`);
      if (performance.now() - t0 > 120_000) throw new Error(`not ready after 120 s (${lastPing}; waiting for ${[...pending].join(', ')}):\n${output}`);
      const keyFile = path.join(dir, 'key_file.json');
      if (token === null && existsSync(keyFile)) {
        try {
          token = (JSON.parse(readFileSync(keyFile, 'utf8')) as { inference?: { key: string } }).inference?.key ?? null;
        } catch {
          // Still being written.
        }
      }
      const ping = await status(`${base}/ping`, token);
      lastPing = `/ping ${ping.code} ${ping.text.trim()}`;
      if (ping.code === 200) {
        if (Number.isNaN(firstPingMs)) firstPingMs = performance.now() - t0;
        if (ping.text.includes('Healthy')) {
          for (const p of [...pending]) if ((await status(`${base}${p}`, token, LISTING)).code === 200) pending.delete(p);
          if (pending.size === 0) return { readyMs: performance.now() - t0, firstPingMs, loadAverage };
        }
      }
      // Not faster: every poll is an access-log line the server writes while it loads.
      await sleep(100);
    }
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'cpu-prof': { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const profDir = values['cpu-prof'] ? path.join(BENCH_DIR, 'startup-profiles', new Date().toISOString().replace(/[:.]/g, '-')) : null;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const results: StartupRun[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await measureStartup(profDir);
    results.push(r);
    console.log(`run ${i + 1}: ready in ${fmt(r.readyMs / 1000, 2)} s (first /ping 200 at ${fmt(r.firstPingMs / 1000, 2)} s), load average ${fmt(r.loadAverage, 1)}`);
  }
  const ready = results.map((r) => r.readyMs / 1000);
  console.log(
    `npm start ready: median ${fmt(median(ready), 2)} s, min ${fmt(Math.min(...ready), 2)} s, max ${fmt(Math.max(...ready), 2)} s over ${runs} runs; ` +
      `load average ${results.map((r) => fmt(r.loadAverage, 1)).join(', ')} on ${os.cpus().length} cores`,
  );
  if (profDir) console.log(`profiles in ${path.relative(process.cwd(), profDir)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
