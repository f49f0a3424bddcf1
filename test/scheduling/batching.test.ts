import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { JobQueue, type BatchPolicy } from '../../src/scheduling/job-queue.js';
import { Job } from '../../src/scheduling/job.js';
import { writeProbeMar } from '../support/archives.js';
import { json } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const job = (id: string, cost = 1) => new Job({ requestId: id, headers: {}, parameters: [] }, cost);
const torchserve: BatchPolicy = { scheduler: 'torchserve', batchSize: 1, maxBatchDelayMs: 0, maxBatchTokens: 1e9, clientTimeoutMs: 0 };

describe('JobQueue', () => {
  it('refuses jobs beyond its capacity', () => {
    const q = new JobQueue(2);
    assert.equal(q.offer(job('a')), true);
    assert.equal(q.offer(job('b')), true);
    assert.equal(q.offer(job('c')), false);
    assert.equal(q.remainingCapacity, 0);
  });

  it('collects up to batchSize jobs, in arrival order', async () => {
    const q = new JobQueue(10);
    for (const id of ['a', 'b', 'c']) q.offer(job(id));
    const batch = await q.nextBatch({ ...torchserve, batchSize: 2, maxBatchDelayMs: 50 }, new AbortController().signal);
    assert.deepEqual(batch.map((j) => j.request.requestId), ['a', 'b']);
    assert.equal(q.size, 1);
  });

  it('waits up to maxBatchDelay for more jobs after the first, as TorchServe does', async () => {
    const q = new JobQueue(10);
    q.offer(job('a'));
    setTimeout(() => q.offer(job('b')), 20);
    const start = performance.now();
    const batch = await q.nextBatch({ ...torchserve, batchSize: 3, maxBatchDelayMs: 150 }, new AbortController().signal);
    const waited = performance.now() - start;
    assert.deepEqual(batch.map((j) => j.request.requestId), ['a', 'b']);
    assert.ok(waited >= 140, `waited ${waited} ms for a third job`);
  });

  it('skips and counts jobs whose client went away', async () => {
    const q = new JobQueue(10);
    const gone = job('gone');
    q.offer(gone);
    q.offer(job('live'));
    gone.cancelled = true;
    const batch = await q.nextBatch({ ...torchserve, batchSize: 5, maxBatchDelayMs: 0 }, new AbortController().signal);
    assert.deepEqual(batch.map((j) => j.request.requestId), ['live']);
    assert.equal(q.droppedCancelled, 1);
  });

  it('returns an empty batch when the worker stops while waiting', async () => {
    const q = new JobQueue(10);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 10);
    assert.deepEqual(await q.nextBatch({ ...torchserve, batchSize: 1, maxBatchDelayMs: 0 }, ac.signal), []);
    assert.equal(q.offer(job('later')), true);
    assert.equal(q.size, 1, 'an aborted waiter does not swallow the next job');
  });
});

describe('batching and queueing through the server, TorchServe scheduler', () => {
  let s: TestServer;
  let inf: Record<string, string>;
  before(async () => {
    s = await startTestServer({ properties: { job_queue_size: '2', batch_scheduler: 'torchserve' } });
    inf = s.auth('inference');
    writeProbeMar(s.modelStore, { name: 'batched' });
    writeProbeMar(s.modelStore, { name: 'single' });
    await s.register('url=batched.mar&initial_workers=1&batch_size=4&max_batch_delay=300');
    await s.register('url=single.mar&initial_workers=1');
  });
  after(() => s.stop());

  const ask = (model: string, body: object) => s.predictJson(model, body);

  it('forms batches of up to batch_size from concurrent requests', async () => {
    // The first job waits up to max_batch_delay for company: the next three join it, the last two form a batch.
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => ask('batched', { action: 'batch' })));
    const sizes = answers.map((r) => json(r.body).batchSize as number).sort();
    assert.deepEqual(sizes, [2, 2, 4, 4, 4, 4]);
    const indexes = answers.filter((r) => json(r.body).batchSize === 4).map((r) => json(r.body).index as number);
    assert.deepEqual(indexes.sort(), [0, 1, 2, 3]);
  });

  it('rejects with 503 when the job queue is full', async () => {
    const busy = ask('single', { action: 'sleep', ms: 500 });
    await new Promise((r) => setTimeout(r, 100));
    const queued = [ask('single', { action: 'batch' }), ask('single', { action: 'batch' })];
    await new Promise((r) => setTimeout(r, 50));
    const rejected = await request(s.inferenceUrl).post('/predictions/single').set(inf).type('json').send({ action: 'batch' });
    assert.equal(rejected.status, 503);
    assert.equal(rejected.body.type, 'ServiceUnavailableException');
    assert.match(rejected.body.message, /^Model "single" has no worker to serve inference request/);
    assert.equal((await busy).status, 200);
    for (const q of await Promise.all(queued)) assert.equal(q.status, 200);
  });

  it('never runs the job of a client that disconnected while it was queued', async () => {
    const handledBefore = json((await ask('single', { action: 'batch' })).body).handled as number;
    const busy = ask('single', { action: 'sleep', ms: 400 });
    await new Promise((r) => setTimeout(r, 50));
    const ac = new AbortController();
    const abandoned = fetch(`${s.inferenceUrl}/predictions/single`, {
      method: 'POST',
      headers: { ...inf, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'batch' }),
      signal: ac.signal,
    }).catch(() => null);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await abandoned;
    await busy;
    const after = json((await ask('single', { action: 'batch' })).body).handled as number;
    // Handled since: the sleeping request and this last one; never the abandoned one.
    assert.equal(after - handledBefore, 2);
  });
});

describe('batching through the server, adaptive scheduler (the default)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    writeProbeMar(s.modelStore, { name: 'adaptive' });
    await s.register('url=adaptive.mar&initial_workers=1&batch_size=2&max_batch_delay=60000');
  });
  after(() => s.stop());

  it('does not hold a lone request for max_batch_delay', async () => {
    const start = Date.now();
    const r = await s.predictJson('adaptive', { action: 'batch' });
    assert.equal(r.status, 200);
    assert.equal(json(r.body).batchSize, 1);
    assert.ok(Date.now() - start < 10_000, 'answered long before the 60 s delay');
  });

  it('batches queued requests of similar length together', async () => {
    // While the worker sleeps, two short and two long requests queue up, alternating.
    const busy = s.predictJson('adaptive', { action: 'sleep', ms: 400 });
    await new Promise((r) => setTimeout(r, 100));
    const long = 'x'.repeat(800);
    const queued = [
      s.predictJson('adaptive', { action: 'batch', tag: 'short1' }),
      s.predictJson('adaptive', { action: 'batch', tag: 'long1', pad: long }),
      s.predictJson('adaptive', { action: 'batch', tag: 'short2' }),
      s.predictJson('adaptive', { action: 'batch', tag: 'long2', pad: long }),
    ];
    await busy;
    const tags = (await Promise.all(queued)).map((r) => (json(r.body).tags as string[]).slice().sort().join('+'));
    assert.deepEqual(tags, ['short1+short2', 'long1+long2', 'short1+short2', 'long1+long2']);
  });
});

describe('scaling under load', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    writeProbeMar(s.modelStore, { name: 'elastic' });
    await s.register('url=elastic.mar&initial_workers=1');
  });
  after(() => s.stop());

  const scale = (q: string) => request(s.managementUrl).put(`/models/elastic?${q}`).set(s.auth('management')).then((r) => r);

  it('answers every queued request while workers are added and removed', async () => {
    const requests = Array.from({ length: 24 }, () => s.predictJson('elastic', { action: 'sleep', ms: 40 }));
    await new Promise((r) => setTimeout(r, 60));
    assert.equal((await scale('min_worker=3&synchronous=true')).status, 200);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal((await scale('min_worker=1&synchronous=true')).status, 200);
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    assert.deepEqual(statuses, statuses.map(() => 200));
  });

  it('answers queued requests with 503 when the model is scaled to 0 workers', async () => {
    const busy = s.predictJson('elastic', { action: 'sleep', ms: 300 });
    await new Promise((r) => setTimeout(r, 50));
    const queued = s.predictJson('elastic', { action: 'batch' });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await scale('min_worker=0&synchronous=true')).status, 200);
    assert.equal((await busy).status, 200, 'the batch in the worker finishes');
    const r = await queued;
    assert.equal(r.status, 503);
    assert.match(json(r.body).message, /^Model "elastic" has no worker to serve inference request/);
  });
});
