import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeProbeMar } from '../support/archives.js';
import { binary, json, text } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('inference API', () => {
  let s: TestServer;
  let auth: Record<string, string>;

  before(async () => {
    s = await startTestServer({ properties: { max_request_size: '4096' } });
    auth = s.auth('inference');
    writeProbeMar(s.modelStore, { name: 'probe' });
    writeProbeMar(s.modelStore, { name: 'probe', version: '2.0', fileName: 'probe-v2.mar' });
    writeProbeMar(s.modelStore, { name: 'idle' });
    const m = s.auth('management');
    await request(s.managementUrl).post('/models?url=probe.mar&initial_workers=1').set(m).expect(200);
    await request(s.managementUrl).post('/models?url=probe-v2.mar&initial_workers=1').set(m).expect(200);
    await request(s.managementUrl).post('/models?url=idle.mar&initial_workers=0').set(m).expect(200);
  });
  after(() => s.stop());

  it('answers /ping with TorchServe body and standard headers, without Date or X-Powered-By', async () => {
    const r = await request(s.inferenceUrl).get('/ping').set(auth);
    assert.equal(r.status, 200);
    assert.equal(r.text, '{\n  "status": "Healthy"\n}\n');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.match(r.headers['x-request-id'], UUID);
    assert.equal(r.headers.pragma, 'no-cache');
    assert.equal(r.headers['cache-control'], 'no-cache; no-store, must-revalidate, private');
    assert.equal(r.headers.expires, 'Thu, 01 Jan 1970 00:00:00 UTC');
    assert.equal(r.headers.date, undefined);
    assert.equal(r.headers['x-powered-by'], undefined);
    const f = await fetch(`${s.inferenceUrl}/ping`, { headers: auth });
    assert.equal(f.headers.get('connection'), 'keep-alive');
  });

  it('returns the generic 404 for unknown paths, closing the connection', async () => {
    const r = await request(s.inferenceUrl).get('/nothing/here').set(auth);
    assert.equal(r.status, 404);
    assert.equal(
      r.text,
      '{\n  "code": 404,\n  "type": "ResourceNotFoundException",\n  "message": "Requested resource is not found, please refer to API document."\n}\n',
    );
    assert.equal(r.headers.connection, 'close');
  });

  it('404s unknown models and versions with TorchServe messages', async () => {
    const a = await request(s.inferenceUrl).post('/predictions/nope').set(auth).send('x');
    assert.equal(a.status, 404);
    assert.deepEqual(a.body, { code: 404, type: 'ModelNotFoundException', message: 'Model not found: nope' });
    const b = await request(s.inferenceUrl).post('/predictions/probe/9.9').set(auth).send('x');
    assert.equal(b.status, 404);
    assert.deepEqual(b.body, {
      code: 404,
      type: 'ModelVersionNotFoundException',
      message: 'Model version: 9.9 does not exist for model: probe',
    });
  });

  it('delivers text as a string and sends a string answer raw, without Content-Type', async () => {
    const r = await binary(request(s.inferenceUrl).post('/predictions/probe').set(auth).set('Content-Type', 'text/plain').send('héllo'));
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], undefined);
    assert.equal(text(r.body), 'héllo');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength('héllo')));
  });

  it('parses application/json for the handler and encodes objects like json.dumps(indent=2), ASCII only', async () => {
    const r = await request(s.inferenceUrl)
      .post('/predictions/probe')
      .set(auth)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send({ a: [1, 2], b: 'ñ' })
      .buffer(true)
      .parse((res, cb) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c.toString('latin1')));
        res.on('end', () => cb(null, data));
      });
    assert.equal(r.status, 200);
    assert.equal(r.body, '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "\\u00f1"\n}');
  });

  it('delivers bodies without Content-Type as bytes, for any HTTP method (curl -T uses PUT)', async () => {
    for (const method of ['put', 'get', 'post'] as const) {
      const r = await binary(request(s.inferenceUrl)[method]('/predictions/probe').set(auth).send(Buffer.from([0, 1, 2, 255])));
      assert.equal(r.status, 200, method);
      assert.deepEqual([...Buffer.from(r.body as Buffer)], [0, 1, 2, 255]);
    }
  });

  it('turns form fields into one parameter each: attributes without content type, files with theirs', async () => {
    const r = await binary(
      request(s.inferenceUrl)
        .post('/predictions/probe')
        .set(auth)
        .field('name', 'value')
        .attach('data', Buffer.from('file content'), { filename: 'a.txt', contentType: 'text/plain' }),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(json(r.body), { name: { bytes: 'value' }, data: 'file content' });
    const u = await binary(request(s.inferenceUrl).post('/predictions/probe').set(auth).type('form').send('x=1&x=2&y=3'));
    assert.deepEqual(json(u.body), { x: { bytes: '2' }, y: { bytes: '3' } });
  });

  it('passes request headers, explain, url_path and the request id to the handler', async () => {
    const post = (path: string) =>
      binary(request(s.inferenceUrl).post(path).set(auth).set('X-Custom', 'v').type('json').send({ action: 'batch' }));
    const r = await post('/predictions/probe/1.0/extra/path');
    const body = json(r.body);
    assert.equal(body.headers['X-Custom'], 'v');
    assert.equal(body.headers.url_path, 'extra/path');
    assert.equal(body.headers.explain, 'False');
    assert.deepEqual(body.headers.body, { 'content-type': 'application/json' });
    assert.equal(body.requestId, r.headers['x-request-id']);
    const e = json((await post('/explanations/probe')).body);
    assert.equal(e.headers.explain, 'True');
    const k = json((await post('/v1/models/probe:explain')).body);
    assert.equal(k.headers.explain, 'True');
  });

  it('routes to the default version or the one in the URL, each with its own model_dir', async () => {
    const ask = async (path: string) =>
      json((await binary(request(s.inferenceUrl).post(path).set(auth).type('json').send({ action: 'batch' }))).body);
    const byDefault = await ask('/predictions/probe');
    const v1 = await ask('/predictions/probe/1.0');
    const v2 = await ask('/predictions/probe/2.0');
    assert.equal(byDefault.modelDir, v1.modelDir);
    assert.notEqual(v1.modelDir, v2.modelDir);
    assert.ok(v1.threads >= 1);
  });

  it('applies status, reason, content type and headers set by the handler', async () => {
    const r = await request(s.inferenceUrl)
      .post('/predictions/probe')
      .set(auth)
      .type('json')
      .send({ action: 'status', status: 201, phrase: 'Made', contentType: 'application/x-probe', header: ['X-Out', 'yes'] });
    assert.equal(r.status, 201);
    assert.equal(r.headers['content-type'], 'application/x-probe');
    assert.equal(r.headers['x-out'], 'yes');
    assert.equal((r as unknown as { res: { statusMessage: string } }).res.statusMessage, 'Made');
  });

  const failures: Array<[string, object, number, string]> = [
    ['a handler that throws', { action: 'throw' }, 503, 'Prediction failed'],
    ['a PredictionException', { action: 'predictionError', status: 418, message: 'teapot' }, 418, 'teapot'],
    ['a batch of the wrong length', { action: 'wrongLength' }, 503, 'number of batch response mismatched'],
    ['an answer that is not a list', { action: 'notList' }, 503, 'Invalid model predict output'],
    ['an answer that cannot be encoded', { action: 'bigint' }, 503, 'Unsupported model output data type.'],
  ];
  for (const [what, body, status, message] of failures) {
    it(`answers ${what} with ${status} "${message}" and the worker lives on`, async () => {
      const r = await request(s.inferenceUrl).post('/predictions/probe').set(auth).type('json').send(body);
      assert.equal(r.status, status);
      assert.deepEqual(r.body, { code: status, type: 'InternalServerException', message });
      assert.equal(r.headers.connection, 'close');
      const ok = await request(s.inferenceUrl).post('/predictions/probe').set(auth).type('text').send('still here');
      assert.equal(ok.status, 200);
    });
  }

  it('503s a model with no workers with TorchServe message (with the odd quote for versions)', async () => {
    const r = await request(s.inferenceUrl).post('/predictions/idle').set(auth).send('x');
    assert.equal(r.status, 503);
    assert.equal(r.body.type, 'ServiceUnavailableException');
    assert.match(r.body.message, /^Model "idle" has no worker to serve inference request\. Please use scale workers API/);
    const v = await request(s.inferenceUrl).post('/predictions/idle/1.0').set(auth).send('x');
    assert.match(v.body.message, /^Model "idle" Version 1\.0" has no worker/);
  });

  it('answers an oversized body with an empty 413 and closes the connection', async () => {
    const r = await request(s.inferenceUrl).post('/predictions/probe').set(auth).send(Buffer.alloc(5000, 1));
    assert.equal(r.status, 413);
    assert.equal(r.headers['content-length'], '0');
    assert.equal(r.headers.connection, 'close');
  });

  it('serves the OpenAPI description on OPTIONS / and /api-description without a token; 405 for other methods on /', async () => {
    for (const r of [await request(s.inferenceUrl).options('/'), await request(s.inferenceUrl).get('/api-description')]) {
      assert.equal(r.status, 200);
      assert.equal(r.body.openapi, '3.0.1');
      assert.ok(r.body.paths['/predictions/{model_name}']);
      assert.ok(r.body.paths['/ping']);
      // As in TorchServe's descriptions, every listener's lists /metrics.
      assert.equal(r.body.paths['/metrics'].get.operationId, 'metrics');
    }
    const m = await request(s.inferenceUrl).get('/');
    assert.equal(m.status, 405);
    assert.deepEqual(m.body, {
      code: 405,
      type: 'MethodNotAllowedException',
      message: 'Requested method is not allowed, please refer to API document.',
    });
    const model = await request(s.inferenceUrl).options('/predictions/probe').set(auth);
    assert.equal(model.status, 200);
    // TorchServe's getModelApi document, its singular "/prediction/m" included.
    assert.equal(model.body.info.title, 'RESTful API for: probe');
    assert.deepEqual(Object.keys(model.body.paths), ['/prediction/probe', '/v1/models/{model_name}:predict', '/v2/models/{model_name}/infer']);
    assert.equal(model.body.paths['/prediction/probe'].post.operationId, 'probe');
  });
});
