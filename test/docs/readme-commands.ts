/**
 * `npm run test:readme` (a step of .ci/run, not of `npm test`: it installs the project afresh and starts
 * the server on the README's fixed ports several times, a few minutes in all).
 *
 * Every shell block of README.md runs as written, in order, in a fresh copy of the working tree (the
 * files git tracks or would track, no node_modules, no dist), each block in a new `bash -e -o pipefail`
 * at the copy's root, as a reader pasting it into a terminal would. What the harness adds, and only this:
 * - `npm start` (alone, after `&&`, or with `&`) is the README's "in another terminal": it is started in
 *   the background, the rest of the block runs once it prints "Model server started.", and it gets
 *   SIGTERM when the block ends;
 * - `curl` runs with `--fail-with-body -sS`, so that an HTTP error fails the block instead of printing;
 * - `npm link` links into a temporary npm prefix (npm_config_prefix) whose bin/ is on PATH, and TMPDIR is
 *   a temporary folder (where `ortserve --start` keeps its pid file), so nothing outside the copy changes;
 * - a block the README says "prints" a JSON block must print that JSON.
 * Blocks marked `<!-- not run by test: why -->` are listed as skipped, with their reason.
 *
 * The README's ports are fixed (8080-8082, 7070-7071): each block waits until they are free, and a block
 * that still meets EADDRINUSE is run again on a reset copy.
 *
 * README_BLOCKS=3,6 runs only those blocks (while editing them); CI runs them all.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../support/server.js';
import { commandLines, serverLine, shellBlocks, type ShellBlock } from './readme-blocks.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README_PORTS = [8080, 8081, 8082, 7070, 7071];
const CURL_FAILS_ON_HTTP_ERRORS = 'curl() { command curl --fail-with-body -sS "$@"; }\n';
const BLOCK_TIMEOUT_MS = 15 * 60_000;
const ATTEMPTS = 3;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Waits (up to 10 minutes) until no other process holds the README's ports: another test may use them. */
async function waitForPorts(): Promise<void> {
  for (let waited = 0; ; waited += 5_000) {
    const busy: number[] = [];
    for (const p of README_PORTS) if (!(await portFree(p))) busy.push(p);
    if (busy.length === 0) return;
    if (waited >= 600_000) throw new Error(`ports ${busy.join(', ')} stayed in use for 10 minutes`);
    if (waited === 0) console.log(`# waiting for ports ${busy.join(', ')} to be free`);
    await sleep(5_000);
  }
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', CURL_FAILS_ON_HTTP_ERRORS + script], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A server started as "in another terminal": its own process group, so that SIGTERM reaches all of it. */
class BackgroundServer {
  private output = '';
  private exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(command: string, cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('bash', ['-c', command], { cwd, env, detached: true });
    this.child.stdout!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get log(): string {
    return this.output;
  }

  async started(): Promise<void> {
    for (let waited = 0; waited < 180_000; waited += 200) {
      if (this.output.includes('Model server started.')) return;
      if (this.child.exitCode !== null) break;
      await sleep(200);
    }
    throw new Error(`the server did not start:\n${this.output}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(-this.child.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-this.child.pid!, 'SIGKILL'), 60_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The output the README promises, at the end of what the block printed (npm prints before it). */
function lastJson(stdout: string): unknown {
  const lines = stdout.trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!/^[[{"]/.test(lines[i]!)) continue;
    try {
      return JSON.parse(lines.slice(i).join('\n'));
    } catch {
      // Not the start of the document: look further up.
    }
  }
  return JSON.parse(stdout.trim());
}

describe('README.md: every shell block runs as written', () => {
  const tmp = makeTempDir('ortserve-readme-commands-');
  const copy = path.join(tmp, 'ortserve');
  const prefix = path.join(tmp, 'npm-prefix');
  // A reader's shell: none of npm's variables for this script, nor .ci/run's CUDA-download switch (npm 11,
  // which the README's install assumes, needs none).
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'ONNXRUNTIME_NODE_INSTALL'),
  );
  Object.assign(env, {
    PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_prefix: prefix,
    TMPDIR: path.join(tmp, 'tmp'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  });
  const git = (...args: string[]): void => {
    const r = spawnSync('git', ['-c', 'user.name=readme', '-c', 'user.email=readme@localhost', ...args], { cwd: copy, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const blocks: ShellBlock[] = shellBlocks(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));

  before(() => {
    mkdirSync(env.TMPDIR!, { recursive: true });
    // What a clone would hold, with the working tree's edits: git's tracked and untracked-but-not-ignored files.
    const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(files.status, 0, files.stderr);
    for (const f of files.stdout.split('\0').filter(Boolean)) {
      if (existsSync(path.join(ROOT, f))) cpSync(path.join(ROOT, f), path.join(copy, f), { recursive: true });
    }
    // A commit of the fresh copy, to reset it between attempts of a block.
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'fresh copy');
  });

  // A server started by `ortserve --start` in a block that failed before its `ortserve --stop`.
  const stopDaemon = async (): Promise<void> => {
    const pidFile = path.join(env.TMPDIR!, '.ortserve.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    try {
      process.kill(pid, 'SIGTERM');
      for (let waited = 0; waited < 60_000; waited += 200) {
        process.kill(pid, 0);
        await sleep(200);
      }
    } catch {
      // Gone.
    }
  };

  after(async () => {
    await stopDaemon();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the README shell blocks', () => {
    assert.ok(blocks.filter((b) => b.skip === null).length >= 3, `${blocks.length} blocks`);
  });

  const only = process.env.README_BLOCKS?.split(',').map(Number);
  for (const block of blocks) {
    const title = `block ${block.index}: ${commandLines(block.script)[0]}`;
    if (only && !only.includes(block.index)) continue;
    if (block.skip !== null) {
      it(title, { skip: `not run by test: ${block.skip}` }, () => {});
      continue;
    }
    it(title, async () => {
      for (let attempt = 1; ; attempt++) {
        await waitForPorts();
        const outcome = await runBlock(block);
        await stopDaemon();
        if (outcome.ok) return;
        const taken = /^.*(EADDRINUSE|address already in use).*$/im.exec(outcome.log);
        if (attempt < ATTEMPTS && taken) {
          console.log(`# block ${block.index}: a port was taken meanwhile (${taken[0].trim()}); attempt ${attempt + 1} on a reset copy`);
          git('checkout', '-q', '.');
          git('clean', '-fdxq', '-e', 'node_modules', '-e', 'dist');
          continue;
        }
        assert.fail(`README block ${block.index} failed:\n${block.script}\n\n${outcome.log}`);
      }
    });
  }

  async function runBlock(block: ShellBlock): Promise<{ ok: boolean; log: string }> {
    const lines = commandLines(block.script);
    const at = lines.findIndex((l) => serverLine(l) !== null);
    const server = at >= 0 ? serverLine(lines[at]!)! : null;
    const first = at >= 0 ? [...lines.slice(0, at), server!.before].filter(Boolean).join('\n') : lines.join('\n');
    const rest = at >= 0 ? lines.slice(at + 1).join('\n') : '';
    let log = '';
    const step = async (script: string): Promise<Run | null> => {
      if (script === '') return null;
      const run = await bash(script, copy, env);
      log += `$ ${script.replace(/\n/g, '\n$ ')}\n--- exit ${run.code}\n${run.stdout}${run.stderr}\n`;
      return run;
    };
    const head = await step(first);
    if (head && head.code !== 0) return { ok: false, log };
    if (!server) return check(block, head, log);
    // The head may have taken minutes (npm install): check the ports again right before the server binds them.
    await waitForPorts();
    const bg = new BackgroundServer(server.command, copy, env);
    try {
      await bg.started();
      const tail = await step(rest);
      if (tail && tail.code !== 0) return { ok: false, log: `${log}--- server (${server.command}):\n${bg.log}` };
      return check(block, tail, log);
    } catch (err) {
      return { ok: false, log: `${log}${String(err)}` };
    } finally {
      await bg.stop();
    }
  }

  function check(block: ShellBlock, last: Run | null, log: string): { ok: boolean; log: string } {
    if (block.expectedJson === undefined) return { ok: true, log };
    try {
      assert.deepEqual(lastJson(last?.stdout ?? ''), block.expectedJson);
      return { ok: true, log };
    } catch (err) {
      return { ok: false, log: `${log}the README says the block prints ${JSON.stringify(block.expectedJson)}: ${String(err)}` };
    }
  }
});
