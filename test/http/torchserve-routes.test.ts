/**
 * Routes and API descriptions TorchServe serves that its own suites (pytorch/serve test/postman) and
 * clients use: the metrics listener's description, the per-model management document, the parameters and
 * response codes of TorchServe's management description, and the SageMaker and legacy prediction routes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeClassifierMar } from '../ui/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe("TorchServe's other routes and descriptions", () => {
  let s: TestServer;
  let inf: Record<string, string>;
  let mgmt: Record<string, string>;

  before(async () => {
    s = await startTestServer();
    inf = s.auth('inference');
    mgmt = s.auth('management');
    await writeClassifierMar(s.modelStore, 'tiny');
    await s.register('url=tiny.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('answers OPTIONS / and /api-description on the metrics listener with a document of /metrics', async () => {
    for (const r of [await request(s.metricsUrl!).options('/'), await request(s.metricsUrl!).get('/api-description')]) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.openapi, '3.0.1');
      assert.deepEqual(Object.keys(r.body.paths), ['/metrics']);
    }
    assert.equal((await request(s.metricsUrl!).get('/')).status, 404);
  });

  it("answers OPTIONS /models/{m} with TorchServe's per-model management document", async () => {
    const r = await request(s.managementUrl).options('/models/tiny').set(mgmt);
    assert.equal(r.status, 200);
    assert.equal(r.body.info.title, 'RESTful Management API for: tiny');
    assert.deepEqual(Object.keys(r.body.paths), ['/models/{model_name}', '/models/{model_name}/{model_version}', '/models/{model_name}/{model_version}/set-default']);
  });

  it("documents TorchServe's management parameters and response codes", async () => {
    const doc = (await request(s.managementUrl).options('/')).body;
    const names = (o: { parameters: Array<{ name: string }> }) => o.parameters.map((p) => p.name);
    const model = doc.paths['/models/{model_name}'];
    assert.ok(names(model.delete).includes('synchronous') && names(model.delete).includes('timeout'));
    assert.ok(names(model.put).includes('number_gpu') && names(model.put).includes('timeout'));
    const token = doc.paths['/models'].get.parameters.find((p: { name: string }) => p.name === 'next_page_token');
    assert.equal(token.schema.type, 'string');
    assert.deepEqual(Object.keys(model.put.responses), ['200', '202', '210', '400', '404', '500']);
    assert.ok(doc.paths['/metrics']);
  });

  it('predicts on /invocations?model_name=, /models/{m}/invoke and the legacy /{m}/predict as on /predictions/{m}', async () => {
    const text = 'a jazz concert tonight with a big band';
    const expected = await request(s.inferenceUrl).post('/predictions/tiny').set(inf).type('text').send(text);
    assert.equal(expected.status, 200);
    for (const route of ['/invocations?model_name=tiny', '/models/tiny/invoke', '/tiny/predict', '/tiny/1.0/predict']) {
      const r = await request(s.inferenceUrl).post(route).set(inf).type('text').send(text);
      assert.equal(r.status, 200, `${route}: ${r.text}`);
      assert.equal(r.text, expected.text, route);
    }
    const unknown = await request(s.inferenceUrl).post('/invocations').set(inf).type('text').send(text);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.type, 'ModelNotFoundException');
  });
});
