/**
 * Issue 13, item 7: a handler blocked in a synchronous system call (readFileSync on a FIFO nobody writes)
 * cannot be interrupted; `worker.terminate()` never settles for its thread. The server must still answer
 * the batch (500 after response_timeout), replace the worker, let DELETE /models return and let SIGTERM
 * end the process, and count the abandoned thread in ortserve_worker_threads_lost_total.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeFixtureMar } from '../support/archives.js';
import { auth, cleanupAll, makeCliEnv, request as cliRequest, startForeground, type ForegroundServer } from '../support/cli.js';
import { json } from '../support/http.js';
import { sample } from '../support/metrics.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';

const WORKER_DIED = { code: 500, type: 'InternalServerException', message: 'Worker died.' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function makeFifo(dir: string): string {
  const fifo = path.join(dir, 'never-written.fifo');
  execFileSync('mkfifo', [fifo]);
  return fifo;
}

/** Lets threads blocked reading `fifo` go (they read end-of-file), so that this test process can exit. */
function releaseFifo(fifo: string): void {
  try {
    // Non-blocking: fails (ENXIO) when no thread is reading any more, instead of waiting for a reader.
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // nobody left reading
  }
}

describe('a handler blocked in a synchronous system call (issue 13)', { timeout: 60_000 }, () => {
  let s: TestServer;
  let fifo: string;

  before(async () => {
    s = await startTestServer();
    fifo = makeFifo(s.dir);
    writeFixtureMar(s.modelStore, 'faults.ts', 'stuck', 'responseTimeout: 2\n');
    writeFixtureMar(s.modelStore, 'faults.ts', 'other');
    await s.register('url=stuck.mar&initial_workers=1');
    await s.register('url=other.mar&initial_workers=1');
  });
  after(async () => {
    releaseFifo(fifo);
    await s.stop();
  });

  const lost = async (model: string): Promise<number | undefined> => {
    const r = await request(s.metricsUrl!).get('/metrics');
    return sample(r.text, 'ortserve_worker_threads_lost_total', { model, version: '1.0' });
  };

  it('answers the batch after response_timeout, abandons and counts the thread, and serves again with a new one', async () => {
    const before = json((await s.predictJson('stuck', { action: 'info' })).body) as { threadId: number };
    assert.equal(await lost('stuck'), 0);
    const blocked = await s.predictJson('stuck', { action: 'readFifo', path: fifo });
    assert.equal(blocked.status, 500);
    assert.deepEqual(json(blocked.body), WORKER_DIED);
    let fresh: { threadId: number } | null = null;
    for (let i = 0; i < 100 && fresh === null; i++) {
      const r = await s.predictJson('stuck', { action: 'info' });
      if (r.status === 200) fresh = json(r.body) as { threadId: number };
      else await sleep(100);
    }
    assert.ok(fresh, 'a replacement worker serves');
    assert.notEqual(fresh.threadId, before.threadId);
    assert.equal(await lost('stuck'), 1);
    assert.equal((await s.predictJson('other', { action: 'info' })).status, 200);
  });

  it('unregisters a model whose worker is blocked right now', async () => {
    const blocked = s.predictJson('stuck', { action: 'readFifo', path: fifo });
    await sleep(300);
    const r = await request(s.managementUrl).delete('/models/stuck').set(s.auth('management'));
    assert.equal(r.status, 200, r.text);
    assert.equal((await blocked).status, 500);
    const gone = await request(s.managementUrl).get('/models/stuck').set(s.auth('management'));
    assert.equal(gone.status, 404);
    assert.equal((await s.predictJson('other', { action: 'info' })).status, 200);
  });
});

describe('SIGTERM with a worker thread blocked in a system call (issue 13)', { timeout: 60_000 }, () => {
  const e = makeCliEnv({ model_store: 'model-store' });
  const fifo = makeFifo(makeTempDir());
  let server: ForegroundServer;

  after(async () => {
    releaseFifo(fifo);
    await server?.kill9();
    await cleanupAll();
  });

  it('exits on SIGTERM, saying why, while an abandoned thread is still blocked', async () => {
    writeFixtureMar(e.modelStore, 'faults.ts', 'stuck', 'responseTimeout: 2\n');
    server = await startForeground(e, ['--start', '--foreground', '--ts-config', 'config.properties', '--models', 'stuck=stuck.mar']);
    const headers = { ...auth(e, 'inference'), 'Content-Type': 'application/json' };
    const blocked = await cliRequest(`${server.inferenceUrl}/predictions/stuck`, { method: 'POST', headers, body: JSON.stringify({ action: 'readFifo', path: fifo }) });
    assert.equal(blocked.status, 500);
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    // process.exit() would join the blocked thread and never return: only SIGKILL ends such a process.
    assert.equal(exit.signal, 'SIGKILL', `exit ${JSON.stringify(exit)}\n${server.output()}`);
    assert.match(server.output(), /ortserve has stopped\./);
    assert.match(server.output(), /blocked in a synchronous system call and cannot be ended/);
  });
});
