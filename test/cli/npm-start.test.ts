/**
 * Issue 19: a process manager stops `npm start` by signalling npm. npm forwards SIGTERM/SIGINT to the
 * script's process, so the script must be node itself (`exec node …`): before, npm signalled the `sh -c`
 * in between, which died and left the server orphaned and listening.
 *
 * The real `npm start` script of package.json, run by the real npm, in a directory with a config on
 * loopback port 0 (dist/ is linked from the repository).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { boundUrls, cleanupAll, isAlive, makeCliEnv } from '../support/cli.js';

after(cleanupAll);

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const START = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;

const listening = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const s = net.connect(Number(port), hostname, () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

describe('npm start under a process manager', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to npm drains the server and leaves no node process listening`, async () => {
      const e = makeCliEnv({ model_store: 'model-store' });
      writeFileSync(path.join(e.cwd, 'package.json'), JSON.stringify({ name: 'npm-start-probe', private: true, scripts: { start: START } }));
      symlinkSync(path.join(ROOT, 'dist'), path.join(e.cwd, 'dist'));
      const npm = spawn('npm', ['start'], { cwd: e.cwd, env: e.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      npm.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      npm.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
      const npmExit = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
      let serverPid = 0;
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the server did not start:\n${out}`)), 60_000);
          npm.stdout!.on('data', () => /Model server started\./.test(out) && (clearTimeout(timer), resolve()));
          npm.once('exit', () => (clearTimeout(timer), reject(new Error(`npm start exited:\n${out}`))));
        });
        serverPid = Number.parseInt(readFileSync(e.pidFile, 'utf8'), 10);
        const { inferenceUrl, managementUrl } = boundUrls(out);
        assert.ok(await listening(inferenceUrl));

        npm.kill(signal);
        // Before the fix npm could also wait forever on the `sh -c` that ignored SIGINT: bounded here.
        const code = await Promise.race([npmExit, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000))]);
        assert.notEqual(code, 'still running', `npm start did not exit after ${signal}:\n${out}`);
        assert.ok(await gone(serverPid, 30_000), `the server (pid ${serverPid}) outlived npm:\n${out}`);
        assert.match(out, /Shutting down: draining in-flight requests\.\n[\s\S]*ortserve has stopped\./);
        assert.equal(code, 0, out);
        assert.equal(await listening(inferenceUrl), false);
        assert.equal(await listening(managementUrl), false);
      } finally {
        if (npm.exitCode === null) npm.kill('SIGKILL');
        if (serverPid > 0 && isAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
      }
    });
  }
});
