/**
 * Runs the real `ortserve` command (dist/src/cli/ortserve.js) in a private directory: its own cwd,
 * TMPDIR (where the pid file lives), LOG_LOCATION, TEMP and model store. Every process started here
 * is SIGKILLed by `killAll()` (call it from `after`), including servers started in the background.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/ortserve.js', import.meta.url));

export interface CliEnv {
  /** The working directory of every command (key_file.json, config.properties). */
  cwd: string;
  modelStore: string;
  logs: string;
  /** TMPDIR: where the pid file lives. */
  tmpdir: string;
  /** TEMP: where archives are extracted. */
  temp: string;
  env: NodeJS.ProcessEnv;
  pidFile: string;
  configFile: string;
}

const roots: string[] = [];
const children = new Set<ChildProcess>();
const envs: CliEnv[] = [];

/** A fresh directory tree and a config.properties on loopback port 0 (inference and management on separate hosts). */
export function makeCliEnv(properties: Record<string, string> = {}): CliEnv {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ortserve-cli-test-'));
  roots.push(root);
  const e: CliEnv = {
    cwd: path.join(root, 'work'),
    modelStore: path.join(root, 'work', 'model-store'),
    logs: path.join(root, 'logs'),
    tmpdir: path.join(root, 'tmpdir'),
    temp: path.join(root, 'temp'),
    env: {},
    pidFile: path.join(root, 'tmpdir', '.ortserve.pid'),
    configFile: path.join(root, 'work', 'config.properties'),
  };
  for (const d of [e.cwd, e.modelStore, e.logs, e.tmpdir, e.temp]) mkdirSync(d, { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TZ', 'NODE_PATH', 'SYSTEMROOT']) if (process.env[k] !== undefined) env[k] = process.env[k];
  e.env = { ...env, TMPDIR: e.tmpdir, LOG_LOCATION: e.logs, TEMP: e.temp };
  const props = {
    inference_address: 'http://127.0.0.1:0',
    management_address: 'http://127.0.0.2:0',
    metrics_address: 'http://127.0.0.1:0',
    grpc_inference_port: '0',
    grpc_management_port: '0',
    ...properties,
  };
  writeFileSync(e.configFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  envs.push(e);
  return e;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (a `--start` in the background returns once the server listens). */
export function runCli(e: CliEnv, args: string[], timeoutMs = 30_000): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: e.cwd, env: e.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ortserve ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface ForegroundServer {
  child: ChildProcess;
  pid: number;
  inferenceUrl: string;
  managementUrl: string;
  /** Everything printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
}

/** Starts `ortserve <args>` as a child (args should include --foreground) and waits for "Model server started.". */
export async function startForeground(e: CliEnv, args: string[], timeoutMs = 30_000): Promise<ForegroundServer> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: e.cwd, env: e.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const started = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const check = (): void => {
      if (out.includes('Model server started.')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      resolve(out.includes('Model server started.'));
    });
  });
  if (!started) {
    child.kill('SIGKILL');
    throw new Error(`ortserve ${args.join(' ')} did not start:\n${out}`);
  }
  const urls = boundUrls(out);
  return {
    child,
    pid: child.pid!,
    ...urls,
    output: () => out,
    exited,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The URLs of "Inference API bound to …" and "Management API bound to …". */
export function boundUrls(stdout: string): { inferenceUrl: string; managementUrl: string } {
  const inference = /Inference API bound to (\S+)/.exec(stdout)?.[1];
  const management = /Management API bound to (\S+)/.exec(stdout)?.[1];
  if (!inference || !management) throw new Error(`no bound URLs in:\n${stdout}`);
  return { inferenceUrl: inference, managementUrl: management };
}

/** `{Authorization: 'Bearer …'}` from key_file.json in the working directory. */
export function auth(e: CliEnv, kind: 'inference' | 'management' | 'API'): Record<string, string> {
  const keys = JSON.parse(readFileSync(path.join(e.cwd, 'key_file.json'), 'utf8')) as Record<string, { key: string }>;
  return { Authorization: `Bearer ${keys[kind]!.key}` };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not reaped yet) is gone for our purposes.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json<T = unknown>(): T;
}

/** One request on its own connection (no keep-alive pool that could hold a draining server open). */
export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** True when `pid` runs dist/src/cli/ortserve.js (so a recycled pid is never killed). */
function runsCli(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(CLI);
  } catch {
    return false;
  }
}

/** SIGKILLs every child still running and every background server of the environments made here. */
export async function killAll(): Promise<void> {
  const waits: Array<Promise<unknown>> = [];
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      waits.push(new Promise((r) => child.once('close', r)));
      child.kill('SIGKILL');
    }
  }
  for (const e of envs) {
    if (!existsSync(e.pidFile)) continue;
    const pid = Number.parseInt(readFileSync(e.pidFile, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && runsCli(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await Promise.all(waits);
}

/** killAll, then removes every directory made here. */
export async function cleanupAll(): Promise<void> {
  await killAll();
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
}
