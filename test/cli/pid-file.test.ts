/**
 * Issue 19: `--pid-file` lets two servers with their own model stores run on one host (same TMPDIR, so the
 * same default pid file), and `--stop --pid-file X` stops the server that wrote X and only that one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { writeProbeMar } from '../support/archives.js';
import { auth, boundUrls, cleanupAll, isAlive, makeCliEnv, request, runCli } from '../support/cli.js';

after(cleanupAll);

describe('ortserve --pid-file: two servers on one host', () => {
  const a = makeCliEnv();
  // b: its own working directory and model store, but a's TMPDIR, where the default pid file would be.
  const b = makeCliEnv();
  b.env = { ...b.env, TMPDIR: a.tmpdir };
  writeProbeMar(a.modelStore, { name: 'model-a', fileName: 'a.mar' });
  writeProbeMar(b.modelStore, { name: 'model-b', fileName: 'b.mar' });
  const pidA = path.join(a.tmpdir, 'a.pid');
  const pidB = path.join(a.tmpdir, 'b.pid');
  const start = ['--start', '--model-store', 'model-store', '--ts-config', 'config.properties'];
  let urlA = '';
  let urlB = '';

  it('both start, each writing its own pid file and none the default one', async () => {
    const ra = await runCli(a, [...start, '--models', 'a=a.mar', '--pid-file', pidA]);
    assert.equal(ra.code, 0, ra.stdout + ra.stderr);
    const rb = await runCli(b, [...start, '--models', 'b=b.mar', '--pid-file', pidB]);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    urlA = boundUrls(ra.stdout).inferenceUrl;
    urlB = boundUrls(rb.stdout).inferenceUrl;
    assert.equal(existsSync(a.pidFile), false);
    const [pa, pb] = [pidA, pidB].map((f) => Number.parseInt(readFileSync(f, 'utf8'), 10)) as [number, number];
    assert.ok(isAlive(pa) && isAlive(pb) && pa !== pb);
    assert.equal((await request(`${urlA}/predictions/a`, { method: 'POST', headers: auth(a, 'inference'), body: 'x' })).status, 200);
    assert.equal((await request(`${urlB}/predictions/b`, { method: 'POST', headers: auth(b, 'inference'), body: 'y' })).status, 200);
  });

  it('a second start with a pid file in use is refused, naming that pid file', async () => {
    const r = await runCli(b, [...start, '--models', 'b=b.mar', '--pid-file', pidB]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, `ortserve is already running, please use ortserve --stop --pid-file ${pidB} to stop ortserve.\n`);
  });

  it('--stop --pid-file stops that server only', async () => {
    const pa = Number.parseInt(readFileSync(pidA, 'utf8'), 10);
    const pb = Number.parseInt(readFileSync(pidB, 'utf8'), 10);
    const r = await runCli(b, ['--stop', '--pid-file', pidB]);
    assert.equal(r.stdout, 'ortserve has stopped.\n');
    assert.equal(isAlive(pb), false);
    assert.equal(existsSync(pidB), false);
    assert.ok(isAlive(pa));
    assert.equal((await request(`${urlA}/predictions/a`, { method: 'POST', headers: auth(a, 'inference'), body: 'x' })).status, 200);
    // Without --pid-file, --stop looks at the default pid file: no server wrote it.
    const none = await runCli(a, ['--stop']);
    assert.equal(none.stdout, 'ortserve is not currently running.\n');
    assert.ok(isAlive(pa));
    const ra = await runCli(a, ['--stop', `--pid-file=${pidA}`]);
    assert.equal(ra.stdout, 'ortserve has stopped.\n');
    assert.equal(isAlive(pa), false);
  });

  it('a pid file in a directory that does not exist is a clear error', async () => {
    const r = await runCli(a, [...start, '--models', 'a=a.mar', '--pid-file', path.join(a.tmpdir, 'nope', 'x.pid')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^--pid-file: the directory .*nope does not exist\.\n$/);
  });
});
