import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeProbeMar } from '../support/archives.js';
import { binary, json } from '../support/http.js';
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
    const m = s.auth('management');
    await request(s.managementUrl).post('/models?url=crashy.mar&initial_workers=1').set(m).expect(200);
    await request(s.managementUrl).post('/models?url=slow.mar&initial_workers=1&response_timeout=1').set(m).expect(200);
  });
  after(() => s.stop());

  const ask = (model: string, body: object) =>
    // .then() sends now: a supertest request is lazy until awaited.
    binary(request(s.inferenceUrl).post(`/predictions/${model}`).set(inf).type('json').send(body)).then((r) => r);

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

  it('keeps the server and other models serving while a worker restarts', async () => {
    const died = ask('crashy', { action: 'exit' });
    const other = await ask('slow', { action: 'batch' });
    assert.equal(other.status, 200);
    assert.equal((await died).status, 500);
    assert.equal((await request(s.inferenceUrl).get('/ping').set(inf)).status, 200);
    await untilServed('crashy');
  });
});
