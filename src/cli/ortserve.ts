#!/usr/bin/env node
/**
 * `ortserve`: torchserve's launcher (spec §11). `--start` runs the server in the background and
 * returns once it listens; `--start --foreground` runs it in this process; `--stop` stops it.
 * Messages are torchserve's, with "TorchServe" replaced by "ortserve".
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load-config.js';
import { SERVER_VERSION } from '../registry/model-version.js';
import { startServer } from '../server.js';
import { parseServerArgs, USAGE, UsageError, type ServerArgs } from './server-args.js';

const PID_FILE = (): string => path.join(os.tmpdir(), '.ortserve.pid');
const STOP_WAIT_MS = 60_000;

function isOrtserve(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  return !existsSync(cmdline) || readFileSync(cmdline, 'utf8').includes('ortserve');
}

/** The pid of the running server, removing a pid file left by a server that is gone. */
function runningPid(): number | null {
  const file = PID_FILE();
  if (!existsSync(file)) return null;
  const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
  if (Number.isInteger(pid) && isOrtserve(pid)) return pid;
  console.log('Removing orphan pid file.');
  rmSync(file, { force: true });
  return null;
}

async function stop(): Promise<number> {
  const pid = runningPid();
  if (pid === null) {
    console.log('ortserve is not currently running.');
    return 0;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    console.log('ortserve already stopped.');
    rmSync(PID_FILE(), { force: true });
    return 0;
  }
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline && isOrtserve(pid)) await new Promise((r) => setTimeout(r, 100));
  if (isOrtserve(pid)) process.kill(pid, 'SIGKILL');
  rmSync(PID_FILE(), { force: true });
  console.log('ortserve has stopped.');
  return 0;
}

/** torchserve's launcher checks, in its order and words. */
function checkStartArgs(args: ServerArgs, env: NodeJS.ProcessEnv): string | null {
  const tsConfig = env.TS_CONFIG_FILE ?? args.tsConfig;
  if (tsConfig && !existsSync(tsConfig)) return `--ts-config file not found: ${tsConfig}`;
  if (env.TEMP && !(existsSync(env.TEMP) && statSync(env.TEMP).isDirectory())) {
    return `Invalid temp directory: ${env.TEMP}, please check TEMP environment variable.`;
  }
  return null;
}

async function runForeground(args: ServerArgs): Promise<number> {
  const config = loadConfig(
    {
      tsConfig: args.tsConfig,
      modelStore: args.modelStore,
      models: args.models,
      noConfigSnapshots: args.noConfigSnapshots || undefined,
      disableTokenAuth: args.disableTokenAuth || undefined,
      enableModelApi: args.enableModelApi || undefined,
    },
    process.env,
    process.cwd(),
  );
  for (const w of config.warnings) console.warn(`Warning: ${w}`);
  if (!config.modelStore) {
    console.log('Missing mandatory parameter --model-store');
    return 1;
  }
  if (!existsSync(config.modelStore) || !statSync(config.modelStore).isDirectory()) {
    console.log(`--model-store directory not found: ${config.modelStore}`);
    return 1;
  }
  const server = await startServer(config, { cwd: process.cwd() });
  writeFileSync(PID_FILE(), String(process.pid));
  console.log('Model server started.');
  process.send?.({ type: 'started', inference: server.inferenceUrl, management: server.managementUrl });
  process.disconnect?.();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  console.log('Shutting down: draining in-flight requests.');
  await server.close();
  server.tokens?.remove();
  if (existsSync(PID_FILE()) && readFileSync(PID_FILE(), 'utf8') === String(process.pid)) rmSync(PID_FILE());
  return 0;
}

/** Starts a detached `--foreground` copy of this command and waits until it listens or dies. */
async function runBackground(argv: string[]): Promise<number> {
  const logDir = path.resolve(process.env.LOG_LOCATION ?? 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'ortserve.log');
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
  });
  const result = await new Promise<{ started: true; inference: string; management: string } | { started: false; code: number | null }>(
    (resolve) => {
      child.once('message', (m: { type?: string; inference: string; management: string }) => {
        if (m.type === 'started') resolve({ started: true, inference: m.inference, management: m.management });
      });
      child.once('exit', (code) => resolve({ started: false, code }));
    },
  );
  if (!result.started) {
    console.log(readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-20).join('\n'));
    return result.code || 1;
  }
  child.unref();
  child.channel?.unref();
  console.log(`Inference API bound to ${result.inference}`);
  console.log(`Management API bound to ${result.management}`);
  console.log(`Logs: ${logFile}`);
  console.log('Model server started.');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let args: ServerArgs;
  try {
    args = parseServerArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${USAGE.split('\n\n')[0]}\nortserve: error: ${err.message}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.version) {
    console.log(`ortserve Version is ${SERVER_VERSION}`);
    return 0;
  }
  if (args.stop) return stop();
  if (runningPid() !== null) {
    console.log('ortserve is already running, please use ortserve --stop to stop ortserve.');
    return 1;
  }
  const problem = checkStartArgs(args, process.env);
  if (problem) {
    console.log(problem);
    return 1;
  }
  try {
    return args.foreground ? await runForeground(args) : await runBackground(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.log(err.message);
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
