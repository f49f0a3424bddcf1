/** ortserve started the way a user starts it (`ortserve --start --foreground`), in a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/ortserve.js');

export interface OrtserveProcess {
  readonly child: ChildProcess;
  /** Where each listener is, by the name it prints: "Inference API" → "http://127.0.0.1:41234". */
  readonly bound: Map<string, string>;
  /** Everything the server printed, for the report when a suite fails. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  dir: string;
  properties: Record<string, string>;
  modelStore: string;
  workflowStore?: string;
}

export async function startOrtserve(opts: StartOptions): Promise<OrtserveProcess> {
  mkdirSync(opts.dir, { recursive: true });
  const tmp = path.join(opts.dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const configFile = path.join(opts.dir, 'config.properties');
  writeFileSync(configFile, Object.entries(opts.properties).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const args = [CLI, '--start', '--foreground', '--ncs', '--ts-config', configFile, '--model-store', opts.modelStore];
  if (opts.workflowStore) args.push('--workflow-store', opts.workflowStore);
  // Its own TMPDIR: the pid file lives there, so a server someone else runs on this machine is not "already running".
  const child = spawn(process.execPath, args, {
    cwd: opts.dir,
    env: { ...process.env, TMPDIR: tmp, TEMP: tmp, LOG_LOCATION: path.join(opts.dir, 'logs') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: OrtserveProcess = {
    child,
    bound: new Map(),
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  const deadline = Date.now() + 60_000;
  while (!out.includes('Model server started.')) {
    if (child.exitCode !== null) throw new Error(`ortserve exited with ${child.exitCode} before it was ready:\n${out}`);
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`ortserve did not start within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // Listeners configured with port 0 say where they are: "Inference API bound to http://127.0.0.1:41234".
  for (const m of out.matchAll(/^(.+?) bound to (\S+)$/gm)) proc.bound.set(m[1]!, m[2]!);
  return proc;
}

