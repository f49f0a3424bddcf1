/**
 * Issue 16, item 1: the workers of a model version share one copy of the weights. Memory probe: the
 * process's private memory (RssAnon in /proc/self/status; the server runs in this process) grows by far
 * less than the model's size when a second worker starts, while with `sharedWeights: false` it grows by
 * at least the model's size (which shows the probe can see a copy).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startTestServer, type TestServer } from '../support/server.js';
import { BIG_MODEL, modelBytes, writeSizedMar } from '../support/sized-model.js';

const MB = 1024 * 1024;

function rssAnon(): number {
  const kb = /^RssAnon:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** Private memory the second worker of `name` added, after each worker ran a prediction. */
async function secondWorkerCost(s: TestServer, name: string): Promise<number> {
  await s.register(`url=${name}&initial_workers=1&synchronous=true`);
  const predict = async (): Promise<void> => {
    const r = await s.predictJson(name, { text: 'a sentence to classify' });
    assert.equal(r.status, 200, String(r.body));
  };
  await predict();
  await predict();
  const one = rssAnon();
  await request(s.managementUrl).put(`/models/${name}?min_worker=2&synchronous=true`).set(s.auth('management')).expect(200);
  // Two concurrent predictions, so both workers have run the model.
  await Promise.all([predict(), predict(), predict(), predict()]);
  return rssAnon() - one;
}

describe('workers of one version share the weights (issue 16)', { timeout: 180_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    writeSizedMar(s.modelStore, 'shared', undefined, 3, BIG_MODEL);
    writeSizedMar(s.modelStore, 'private', 'sharedWeights: false\n', 3, BIG_MODEL);
  });
  after(() => s.stop());

  it('a second worker adds far less private memory than the model size; a private copy adds more than it', async () => {
    const size = modelBytes(3, BIG_MODEL);
    const shared = await secondWorkerCost(s, 'shared');
    await request(s.managementUrl).delete('/models/shared').set(s.auth('management')).expect(200);
    const priv = await secondWorkerCost(s, 'private');
    const msg = `model ${Math.round(size / MB)} MB; second worker: shared +${Math.round(shared / MB)} MB, private +${Math.round(priv / MB)} MB`;
    console.log(msg);
    assert.ok(priv > 0.8 * size, `the probe sees a private copy: ${msg}`);
    // A worker thread's own memory (isolate, tokenizer, activations) is about 60 MB here.
    assert.ok(shared < 0.4 * size, msg);
  });

  it('describe says whether the version shares its weights', async () => {
    const d = (await request(s.managementUrl).get('/models/private').set(s.auth('management')).expect(200)).body as Array<{ sharedWeights: boolean }>;
    assert.equal(d[0]!.sharedWeights, false);
  });
});
