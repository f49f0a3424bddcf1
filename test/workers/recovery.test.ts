import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeProbeMar } from '../support/archives.js';
import { json } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const WORKER_DIED = { code: 500, type: 'InternalServerException', message: 'Worker died.' };

describe('worker faults', () => {
  let s: TestServer;
  let inf: Record<string, string>;
  before(async () => {
    s = await startTestServer();
    inf = s.auth('inference');
    writeProbeMar(s.modelStore, { name: 'crashy' });
    writeProbeMar(s.modelStore, { name: 'slow' });
    writeProbeMar(s.modelStore, { name: 'idlecrash' });
    await s.register('url=crashy.mar&initial_workers=1');
    await s.register('url=slow.mar&initial_workers=1&response_timeout=1');
    await s.register('url=idlecrash.mar&initial_workers=1&response_timeout=3');
  });
  after(() => s.stop());

  const ask = (model: string, body: object) => s.predictJson(model, body);

  async function untilServed(model: string): Promise<{ loads: number }> {
    for (let i = 0; i < 50; i++) {
      const r = await ask(model, { action: 'batch' });
      if (r.status === 200) return json(r.body) as { loads: number };
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`${model} never recovered`);
  }

  it('answers 500 "Worker died." when the worker thread exits mid-batch, then restarts it', async () => {
    const r = await ask('crashy', { action: 'exit' });
    assert.equal(r.status, 500);
    assert.deepEqual(json(r.body), WORKER_DIED);
    const after = await untilServed('crashy');
    assert.equal(after.loads, 1, 'a fresh thread loaded the handler again');
    const d = (await request(s.managementUrl).get('/models/crashy').set(s.auth('management'))).body[0];
    assert.equal(d.workers.length, 1);
    assert.equal(d.workers[0].status, 'READY');
  });

  it('answers 500 "Worker died." after response_timeout and replaces a hanging worker', async () => {
    const start = Date.now();
    const r = await ask('slow', { action: 'hang' });
    assert.equal(r.status, 500);
    assert.deepEqual(json(r.body), WORKER_DIED);
    assert.ok(Date.now() - start < 5000);
    await untilServed('slow');
  });

  it('restarts a worker whose thread died while idle, before the next request needs it', async () => {
    assert.equal((await ask('idlecrash', { action: 'exitLater', ms: 20 })).status, 200);
    await new Promise((res) => setTimeout(res, 300));
    const r = await ask('idlecrash', { action: 'batch' });
    assert.equal(r.status, 200, 'served by the restarted thread, not failed after the response timeout');
    assert.equal(json(r.body).loads, 1);
  });

  it('keeps the server and other models serving while a worker restarts', async () => {
    const died = ask('crashy', { action: 'exit' });
    const other = await ask('slow', { action: 'batch' });
    assert.equal(other.status, 200);
    assert.equal((await died).status, 500);
    assert.equal((await request(s.inferenceUrl).get('/ping').set(inf)).status, 200);
    await untilServed('crashy');
  });
});

describe('health and job tickets', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    writeProbeMar(s.modelStore, { name: 'failing', yaml: 'maxRetryTimeoutInSec: 1\nprobe:\n  failLoad: true\n' });
    writeProbeMar(s.modelStore, { name: 'ticket', yaml: 'useJobTicket: true\n' });
  });
  after(() => s.stop());

  it('turns /ping Unhealthy (500) once a worker has been recovering longer than maxRetryTimeoutInSec', async () => {
    const inf = s.auth('inference');
    assert.equal((await request(s.inferenceUrl).get('/ping').set(inf)).status, 200);
    await request(s.managementUrl).post('/models?url=failing.mar&initial_workers=1&synchronous=false').set(s.auth('management')).expect(202);
    let r = await request(s.inferenceUrl).get('/ping').set(inf);
    for (let i = 0; i < 40 && r.status === 200; i++) {
      await new Promise((res) => setTimeout(res, 100));
      r = await request(s.inferenceUrl).get('/ping').set(inf);
    }
    assert.equal(r.status, 500);
    assert.equal(r.text, '{\n  "status": "Unhealthy"\n}\n');
    await request(s.managementUrl).put('/models/failing?min_worker=0&synchronous=true').set(s.auth('management')).expect(200);
    assert.equal((await request(s.inferenceUrl).get('/ping').set(inf)).status, 200, 'a model scaled to 0 is healthy');
  });

  it('rejects at once with 503 when useJobTicket is set and no worker is idle', async () => {
    await s.register('url=ticket.mar&initial_workers=1');
    const busy = s.predictJson('ticket', { action: 'sleep', ms: 400 });
    await new Promise((res) => setTimeout(res, 100));
    const rejected = await s.predictJson('ticket', { action: 'batch' });
    assert.equal(rejected.status, 503);
    assert.equal(json(rejected.body).type, 'ServiceUnavailableException');
    assert.equal((await busy).status, 200);
    assert.equal((await s.predictJson('ticket', { action: 'batch' })).status, 200);
  });
});
