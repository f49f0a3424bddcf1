#!/usr/bin/env node
/**
 * `ortserve`: torchserve's launcher (ts/model_server.py, spec §11). `--start` runs the server in the
 * background and returns once it listens; `--start --foreground` runs it in this process; `--stop`
 * stops it. Messages are torchserve's, with "TorchServe" replaced by "ortserve".
 *
 * Differences from the Python launcher, on purpose: `--start` returns only once the server listens (or
 * reports why it did not start), `--stop` waits until the server is gone (SIGKILL after 60 s), and the
 * pid file is written by the server process itself and removed when it exits.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load-config.js';
import { parseProperties } from '../config/properties.js';
import type { ServerConfig } from '../config/types.js';
import { SERVER_VERSION } from '../registry/model-version.js';
import { startServer, type RunningServer } from '../server.js';
import { exitProcess } from '../workers/lost-threads.js';
import { parseServerArgs, USAGE, USAGE_LINE, UsageError, type ServerArgs } from './server-args.js';

/**
 * `${TMPDIR}/.ortserve.pid`, as torchserve's `${TMPDIR}/.model_server.pid`: one server per host. `--pid-file`
 * (ortserve's own) names another, so that servers with their own pid files run side by side and
 * `--stop --pid-file X` stops the one that wrote X. Set once by main, before anything reads it.
 */
let pidFilePath = path.join(os.tmpdir(), '.ortserve.pid');
const pidFile = (): string => pidFilePath;
const KEY_FILE = 'key_file.json';
const STOP_WAIT_MS = 60_000;
const SCRIPT = fileURLToPath(import.meta.url);

const isDirectory = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();
const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();

/**
 * True when `pid` is a live ortserve server: the process exists and its command line runs this
 * script (the Python launcher looks for the Java main class the same way). A zombie has an empty
 * command line, so a server that exited but was not reaped yet counts as gone.
 */
function isOrtserve(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return process.platform !== 'linux';
  }
  return cmdline.split('\0').some((a) => /^ortserve(\.[cm]?js)?$/.test(path.basename(a)));
}

/** The pid of the running server; a pid file left by a server that is gone is removed. */
function runningPid(): number | null {
  const file = pidFile();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const pid = Number.parseInt(text, 10);
  if (Number.isInteger(pid) && pid > 0 && isOrtserve(pid)) return pid;
  console.log('Removing orphan pid file.');
  rmSync(file, { force: true });
  return null;
}

function writePidFile(): void {
  const file = pidFile();
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, String(process.pid));
  renameSync(tmp, file);
}

/** Removes the pid file if it is still this process's. */
function removeOwnPidFile(): void {
  try {
    if (readFileSync(pidFile(), 'utf8').trim() === String(process.pid)) rmSync(pidFile(), { force: true });
  } catch {
    // already gone
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isOrtserve(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** `--stop`: exit code 0 whether or not a server was running, as the Python launcher. */
async function stop(pid: number | null): Promise<number> {
  if (pid === null) {
    console.log('ortserve is not currently running.');
  } else {
    let signalled = true;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      signalled = false;
      console.log('ortserve already stopped.');
    }
    if (signalled) {
      if (!(await waitGone(pid, STOP_WAIT_MS))) {
        console.log('Stopping ortserve took too long; killing it.');
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // it ended meanwhile
        }
        await waitGone(pid, 5_000);
      }
      console.log('ortserve has stopped.');
    }
    rmSync(pidFile(), { force: true });
  }
  rmSync(path.resolve(KEY_FILE), { force: true });
  return 0;
}

/** A launcher-level failure: printed on stdout, exit 1 (ts/model_server.py's `print(); sys.exit(1)`). */
class StartError extends Error {}

/**
 * torchserve's launcher checks, in its order and words, then the configuration itself. The model store
 * must come from `--model-store` or from the `--ts-config` file, as in the launcher (a snapshot or
 * ./config.properties does not count).
 */
function prepareStart(args: ServerArgs, env: NodeJS.ProcessEnv, cwd: string): ServerConfig {
  if (args.logConfig !== undefined) {
    const logConfig = path.resolve(cwd, args.logConfig);
    const real = existsSync(logConfig) ? realpathSync(logConfig) : logConfig;
    if (!isFile(real)) throw new StartError(`--log-config file not found: ${real}`);
  }
  if (env.TEMP && !isDirectory(path.resolve(cwd, env.TEMP))) {
    throw new StartError(`Invalid temp directory: ${env.TEMP}, please check TEMP environment variable.`);
  }
  const tsConfig = env.TS_CONFIG_FILE || args.tsConfig;
  let modelStore = args.modelStore;
  if (tsConfig) {
    if (!isFile(path.resolve(cwd, tsConfig))) throw new StartError(`--ts-config file not found: ${tsConfig}`);
    if (!modelStore) modelStore = parseProperties(readFileSync(path.resolve(cwd, tsConfig), 'utf8')).get('model_store') || undefined;
  }
  if (!modelStore) throw new StartError('Missing mandatory parameter --model-store');
  const config = loadConfig(
    {
      tsConfig: args.tsConfig,
      modelStore: args.modelStore,
      workflowStore: args.workflowStore,
      models: args.models,
      noConfigSnapshots: args.noConfigSnapshots || undefined,
      disableTokenAuth: args.disableTokenAuth || undefined,
      enableModelApi: args.enableModelApi || undefined,
    },
    env,
    cwd,
  );
  if (!config.modelStore || !isDirectory(config.modelStore)) {
    throw new StartError(`--model-store directory not found: ${modelStore}`);
  }
  if (args.workflowStore !== undefined && !isDirectory(path.resolve(cwd, args.workflowStore))) {
    throw new StartError(`--workflow-store directory not found: ${args.workflowStore}`);
  }
  if (args.pluginsPath !== undefined) console.log('Warning: --plugins-path is not supported by ortserve and is ignored.');
  return config;
}

/**
 * Runs the server in this process until SIGTERM or SIGINT, then drains in-flight requests, writes the
 * shutdown snapshot, stops the workers and exits 0. A second signal ends the process at once.
 */
async function runForeground(config: ServerConfig): Promise<number> {
  writePidFile();
  let server: RunningServer | null = null;
  let stopping = false;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.log(`${signal} again: exiting without waiting for in-flight requests.`);
      removeOwnPidFile();
      exitProcess(1);
    }
    stopping = true;
    if (server === null) {
      // Startup is not over (models may still be loading): there is nothing to drain.
      console.log(`${signal} received during startup; ortserve stopped.`);
      if (!config.disableTokenAuthorization) rmSync(path.resolve(KEY_FILE), { force: true });
      removeOwnPidFile();
      process.exit(0);
    }
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    server = await startServer(config, { cwd: process.cwd() });
  } catch (err) {
    removeOwnPidFile();
    throw err;
  }
  console.log('Model server started.');
  // Started by `--start` in the background: tell the launcher, which may have gone meanwhile.
  if (process.send && process.connected) {
    process.send({ type: 'started', inference: server.inferenceUrl, management: server.managementUrl });
    process.disconnect();
  }
  await stopRequested;
  console.log('Shutting down: draining in-flight requests.');
  await server.close();
  server.tokens?.remove();
  removeOwnPidFile();
  console.log('ortserve has stopped.');
  return 0;
}

function readFrom(file: string, offset: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts a detached `--foreground` copy of this command, its output appended to
 * `$LOG_LOCATION/ortserve.log`, and waits until it listens or dies.
 */
async function runBackground(argv: string[], config: ServerConfig): Promise<number> {
  mkdirSync(config.logLocation, { recursive: true });
  const logFile = path.join(config.logLocation, 'ortserve.log');
  const out = openSync(logFile, 'a');
  const logStart = statSync(logFile).size;
  const child = spawn(process.execPath, [...process.execArgv, SCRIPT, ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out);
  type Outcome = { started: true; inference: string; management: string } | { started: false; code: number | null };
  const result = await new Promise<Outcome>((resolve) => {
    child.on('message', (m: { type?: string; inference: string; management: string }) => {
      if (m.type === 'started') resolve({ started: true, inference: m.inference, management: m.management });
    });
    child.once('exit', (code) => resolve({ started: false, code }));
    child.once('error', () => resolve({ started: false, code: 1 }));
  });
  if (!result.started) {
    // Only what this attempt wrote: the log file keeps the output of earlier runs too.
    const output = readFrom(logFile, logStart).trimEnd();
    if (output) console.log(output.split('\n').slice(-40).join('\n'));
    return result.code || 1;
  }
  if (child.connected) child.disconnect();
  child.unref();
  console.log(`Inference API bound to ${result.inference}`);
  console.log(`Management API bound to ${result.management}`);
  console.log(`Logs: ${logFile}`);
  console.log('Model server started.');
  return 0;
}

/** Appended to the usage: the client commands, dispatched at the top of main. */
const CLIENT_COMMANDS = `
client commands, run against a running server ("ortserve COMMAND --help" for their options):
  ortserve evaluate FILE -m MODEL ...   accuracy, balanced accuracy, MCC, F1, confusion matrices and
                                        latency of one or more models on labelled CSV/JSONL data
  ortserve predict FILE -m MODEL ...    batch prediction of a CSV or JSONL file
`;

async function main(argv: string[]): Promise<number> {
  // Client commands, imported only when used: the server's start-up does not load them.
  if (argv[0] === 'evaluate') return (await import('./evaluate.js')).runEvaluate(argv.slice(1));
  if (argv[0] === 'predict') return (await import('./predict.js')).runPredict(argv.slice(1));
  let args: ServerArgs;
  try {
    args = parseServerArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${USAGE_LINE}\nortserve: error: ${err.message}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE + CLIENT_COMMANDS);
    return 0;
  }
  // Absolute: the background server is spawned with the same argv and must write the same file.
  if (args.pidFile !== undefined) pidFilePath = path.resolve(args.pidFile);
  const pid = runningPid();
  if (args.version) {
    console.log(`ortserve Version is ${SERVER_VERSION}`);
    return 0;
  }
  if (args.stop) return stop(pid);
  if (pid !== null) {
    const which = args.pidFile !== undefined ? ` --pid-file ${args.pidFile}` : '';
    console.log(`ortserve is already running, please use ortserve --stop${which} to stop ortserve.`);
    return 1;
  }
  if (args.pidFile !== undefined && !isDirectory(path.dirname(pidFile()))) {
    console.log(`--pid-file: the directory ${path.dirname(pidFile())} does not exist.`);
    return 1;
  }
  let config: ServerConfig;
  try {
    config = prepareStart(args, process.env, process.cwd());
  } catch (err) {
    if (err instanceof StartError || err instanceof ConfigError) {
      console.log(err.message);
      return 1;
    }
    throw err;
  }
  for (const w of config.warnings) console.log(`Warning: ${w}`);
  try {
    return args.foreground ? await runForeground(config) : await runBackground(argv, config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.log(err.message);
      return 1;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      console.log(`Failed to start ortserve: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}

// exitProcess, not process.exit: the latter never returns while a worker thread is blocked (lost-threads.ts).
main(process.argv.slice(2)).then(
  (code) => exitProcess(code),
  (err: unknown) => {
    console.error(err);
    exitProcess(1);
  },
);
