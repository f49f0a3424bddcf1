/**
 * Fault recovery (issue 6): what clients get and what the server does when a handler kills its
 * worker thread mid-batch, throws on every call, hangs, or leaks memory until its thread runs out of
 * heap. test/workers/recovery.test.ts covers the single-request basics (exit mid-batch, hang with a
 * register-time response_timeout, a thread dying while idle, /ping during a restart, maxRetryTimeoutInSec,
 * useJobTicket); this file covers whole batches, the other ways of dying, the no-restart-loop rule, a
 * model-config.yaml response timeout, and the per-thread heap bound.
 * Handler: test/fixtures/handlers/faults.ts.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { defaultWorkerHeapMb, heapMb, HEAP_ENV } from '../../src/workers/heap-limit.js';
import { writeFixtureMar } from '../support/archives.js';
import { json } from '../support/http.js';
import { sample } from '../support/metrics.js';
import { startTestServer, type TestServer } from '../support/server.js';

const WORKER_DIED = { code: 500, type: 'InternalServerException', message: 'Worker died.' };
const PREDICTION_FAILED = { code: 503, type: 'InternalServerException', message: 'Prediction failed' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Unhandled rejections of this process (the server runs in it): none of these faults may cause one. */
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

function writeFaultsMar(modelStore: string, name: string, yaml?: string): void {
  writeFixtureMar(modelStore, 'faults.ts', name, yaml);
}

interface Info {
  batchSize: number;
  tag: unknown;
  loads: number;
  calls: number;
  threadId: number;
  heapLimitMb: number;
}

describe('fault recovery', { timeout: 30_000 }, () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
    writeFaultsMar(s.modelStore, 'dies');
    writeFaultsMar(s.modelStore, 'throws', 'faults:\n  alwaysThrow: true\n');
    writeFaultsMar(s.modelStore, 'hangs', 'responseTimeout: 2\n');
    writeFaultsMar(s.modelStore, 'leaks', 'maxWorkerHeapMb: 64\n');
    writeFaultsMar(s.modelStore, 'other');
    await s.register('url=dies.mar&initial_workers=1&batch_size=4&max_batch_delay=50');
    await s.register('url=throws.mar&initial_workers=1&batch_size=4');
    await s.register('url=hangs.mar&initial_workers=1');
    await s.register('url=leaks.mar&initial_workers=1');
    await s.register('url=other.mar&initial_workers=1');
  });
  after(() => s.stop());

  const ask = (model: string, body: object) => s.predictJson(model, body);
  const info = async (model: string, body: object = { action: 'info' }): Promise<Info> => {
    const r = await ask(model, body);
    assert.equal(r.status, 200, String(r.body));
    return json(r.body) as Info;
  };

  async function restarts(model: string): Promise<number> {
    const r = await request(s.metricsUrl!).get('/metrics');
    assert.equal(r.status, 200);
    return sample(r.text, 'ortserve_worker_restarts_total', { model, version: '1.0' }) ?? 0;
  }

  /** Answers 200 again (the thread is back); the answer of the fresh thread. */
  async function untilServed(model: string): Promise<Info> {
    for (let i = 0; i < 100; i++) {
      const r = await ask(model, { action: 'info' });
      if (r.status === 200) return json(r.body) as Info;
      await sleep(100);
    }
    throw new Error(`${model} never recovered`);
  }

  async function describeModel(model: string): Promise<{ workers: Array<{ status: string }> }> {
    const r = await request(s.managementUrl).get(`/models/${model}`).set(s.auth('management'));
    assert.equal(r.status, 200, `${model} is still registered: ${r.text}`);
    return r.body[0];
  }

  /**
   * Occupies the only worker, queues four requests of equal size (one of them `fault`), and returns
   * their answers: the four are taken as one batch when the worker frees.
   */
  async function batchOfFour(model: string, fault: string): Promise<Array<{ status: number; body: unknown }>> {
    const busy = ask(model, { action: 'sleep', ms: 400 });
    await sleep(100);
    const batch = [fault, 'info', 'info', 'info'].map((action, i) => ask(model, { action, pad: 'x'.repeat(12 - action.length), tag: i }));
    assert.equal((await busy).status, 200);
    return Promise.all(batch);
  }

  it('(control) four requests queued behind a busy worker run as one batch', async () => {
    const answers = await batchOfFour('dies', 'info');
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal((json(a.body) as Info).batchSize, 4);
    }
  });

  for (const fault of ['exit', 'throwLater', 'rejectLater']) {
    it(`a thread that dies mid-batch (${fault}): every request of the batch gets 500 "Worker died.", the worker comes back`, async () => {
      const before = await info('dies');
      const restartsBefore = await restarts('dies');
      const answers = await batchOfFour('dies', fault);
      for (const a of answers) {
        assert.equal(a.status, 500);
        assert.deepEqual(json(a.body), WORKER_DIED);
      }
      const fresh = await untilServed('dies');
      assert.notEqual(fresh.threadId, before.threadId, 'a new thread serves');
      assert.equal(fresh.loads, 1, 'it loaded the handler again');
      assert.equal(await restarts('dies'), restartsBefore + 1, 'restarted once');
      const d = await describeModel('dies');
      assert.deepEqual(
        d.workers.map((w) => w.status),
        ['READY'],
      );
      const again = await Promise.all([ask('dies', { action: 'info' }), ask('dies', { action: 'info' })]);
      assert.deepEqual(
        again.map((r) => r.status),
        [200, 200],
      );
    });
  }

  it('a handler that throws on every call: 503 "Prediction failed" for each request, the same thread lives on', async () => {
    const restartsBefore = await restarts('throws');
    for (let i = 0; i < 5; i++) {
      const r = await ask('throws', { action: 'info' });
      assert.equal(r.status, 503);
      assert.deepEqual(json(r.body), PREDICTION_FAILED);
    }
    // A batch fails together, each request with the same answer.
    const batch = await Promise.all(Array.from({ length: 6 }, () => ask('throws', { action: 'info' })));
    for (const r of batch) {
      assert.equal(r.status, 503);
      assert.deepEqual(json(r.body), PREDICTION_FAILED);
    }
    await sleep(1500); // a restart loop would have restarted it by now (back-off 0 s, 1 s)
    assert.equal(await restarts('throws'), restartsBefore, 'no restart');
    assert.deepEqual(
      (await describeModel('throws')).workers.map((w) => w.status),
      ['READY'],
    );
    assert.equal((await request(s.inferenceUrl).get('/ping').set(s.auth('inference'))).status, 200);
  });

  it('a hanging handler: 500 "Worker died." after model-config.yaml responseTimeout (2 s); /ping and other models answer meanwhile', async () => {
    const before = await info('hangs');
    const restartsBefore = await restarts('hangs');
    const start = Date.now();
    const hung = ask('hangs', { action: 'hang' });
    await sleep(300);
    for (let i = 0; i < 3; i++) {
      const t = Date.now();
      assert.equal((await request(s.inferenceUrl).get('/ping').set(s.auth('inference'))).status, 200);
      assert.equal((await ask('other', { action: 'info' })).status, 200);
      assert.ok(Date.now() - t < 1000, 'answered at once while the other worker hangs');
    }
    const r = await hung;
    const took = Date.now() - start;
    assert.equal(r.status, 500);
    assert.deepEqual(json(r.body), WORKER_DIED);
    assert.ok(took >= 1900 && took < 6000, `answered after ${took} ms`);
    const fresh = await untilServed('hangs');
    assert.notEqual(fresh.threadId, before.threadId, 'the hanging thread was replaced');
    assert.equal(await restarts('hangs'), restartsBefore + 1);
    assert.deepEqual(
      (await describeModel('hangs')).workers.map((w) => w.status),
      ['READY'],
    );
  });

  it('bounds each worker thread’s heap: model-config.yaml maxWorkerHeapMb, else the default', async () => {
    const leaks = await info('leaks');
    assert.ok(leaks.heapLimitMb >= 64 && leaks.heapLimitMb < 160, `heap limit ${leaks.heapLimitMb} MB with maxWorkerHeapMb: 64`);
    const other = await info('other');
    const expected = defaultWorkerHeapMb();
    assert.ok(other.heapLimitMb >= expected && other.heapLimitMb < expected + 100, `default heap limit ${other.heapLimitMb} MB, expected ~${expected}`);
  });

  it('a handler that leaks until its thread runs out of heap: 507 for the batch, the worker restarts, the server and other models live on', async () => {
    const before = await info('leaks');
    const restartsBefore = await restarts('leaks');
    const start = Date.now();
    const leaking = ask('leaks', { action: 'leak' });
    const other = await ask('other', { action: 'info' });
    assert.equal(other.status, 200, 'another model answers while the leak grows');
    const r = await leaking;
    assert.ok(Date.now() - start < 20_000, `the thread died after ${Date.now() - start} ms`);
    assert.ok(r.status === 507 || r.status === 500, `status ${r.status}`);
    assert.equal(r.status, 507, 'the out-of-memory death is recognised');
    assert.deepEqual(json(r.body), { code: 507, type: 'InternalServerException', message: 'Worker died.' });
    assert.equal((await request(s.inferenceUrl).get('/ping').set(s.auth('inference'))).status, 200);
    const fresh = await untilServed('leaks');
    assert.notEqual(fresh.threadId, before.threadId);
    assert.equal(fresh.loads, 1);
    assert.equal(await restarts('leaks'), restartsBefore + 1);
    assert.equal((await ask('other', { action: 'info' })).status, 200);
  });

  it('left no unhandled rejection in the server process', () => {
    assert.deepEqual(unhandled, []);
  });
});

describe('the worker heap setting', () => {
  it('reads ORTSERVE_MAX_WORKER_HEAP_MB, else a quarter of the RAM within [256, 2048] MB; 0 means V8’s own limit', () => {
    assert.equal(defaultWorkerHeapMb({ [HEAP_ENV]: '300' }), 300);
    assert.equal(defaultWorkerHeapMb({ [HEAP_ENV]: '0' }), 0);
    const auto = defaultWorkerHeapMb({});
    assert.ok(auto >= 256 && auto <= 2048);
    assert.equal(defaultWorkerHeapMb({ [HEAP_ENV]: 'lots' }), auto, 'an invalid value is ignored');
    assert.equal(heapMb(64), 64);
    assert.equal(heapMb('64'), 64);
    assert.equal(heapMb(-1), undefined);
    assert.equal(heapMb(1.5), undefined);
  });
});
