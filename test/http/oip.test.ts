/**
 * The Open Inference Protocol REST routes and the KServe envelopes on a real server with the tiny
 * text classifier: exact request and response shapes, error bodies included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeMar } from '../support/archives.js';
import { binary, json, text } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { LABELS, writeClassifierMar } from '../ui/support.js';

const TEXTS = ['Jazz concert tonight at the old theatre', 'Marathon registration opens next week', 'Wine tasting and tapas'];

async function registerClassifier(s: TestServer, name: string): Promise<void> {
  await writeClassifierMar(s.modelStore, name);
  await s.register(`url=${name}.mar&initial_workers=1&synchronous=true&batch_size=4&max_batch_delay=20`);
}

describe('Open Inference Protocol without an envelope', () => {
  let s: TestServer;
  let inf: Record<string, string>;
  const post = (path: string, body: unknown) =>
    binary(request(s.inferenceUrl).post(path).set(inf).set('Content-Type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body))).then((r) => r);
  const get = (path: string) => request(s.inferenceUrl).get(path).set(inf).then((r) => r);

  before(async () => {
    s = await startTestServer();
    inf = s.auth('inference');
    await registerClassifier(s, 'clf');
  });
  after(() => s.stop());

  it('serves health and server metadata', async () => {
    const live = await get('/v2/health/live');
    assert.equal(live.status, 200);
    assert.deepEqual(live.body, { live: true });
    const ready = await get('/v2/health/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { ready: true });
    const meta = await get('/v2');
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.body, { name: 'ortserve', version: '0.1.0', extensions: [] });
  });

  it('serves model metadata and readiness, versioned or not', async () => {
    const expected = {
      name: 'clf',
      versions: ['1.0'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'score', datatype: 'FP32', shape: [-1] },
      ],
    };
    assert.deepEqual((await get('/v2/models/clf')).body, expected);
    assert.deepEqual((await get('/v2/models/clf/versions/1.0')).body, expected);
    const ready = await get('/v2/models/clf/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { name: 'clf', ready: true });
    assert.deepEqual((await get('/v2/models/clf/versions/1.0/ready')).body, { name: 'clf', ready: true });
  });

  it('classifies a BYTES tensor of texts, each label as /predictions gives it', async () => {
    const r = await post('/v2/models/clf/infer', { id: 'req-1', inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', data: TEXTS }] });
    assert.equal(r.status, 200, text(r.body));
    assert.equal(r.headers['content-type'], 'application/json');
    const body = json(r.body);
    assert.deepEqual(Object.keys(body), ['model_name', 'model_version', 'id', 'outputs']);
    assert.equal(body.model_name, 'clf');
    assert.equal(body.model_version, '1.0');
    assert.equal(body.id, 'req-1');
    const [label, score] = body.outputs;
    assert.deepEqual(Object.keys(label), ['name', 'shape', 'datatype', 'data']);
    assert.deepEqual({ ...label, data: undefined }, { name: 'label', shape: [3], datatype: 'BYTES', data: undefined });
    assert.deepEqual({ ...score, data: undefined }, { name: 'score', shape: [3], datatype: 'FP32', data: undefined });
    for (const [i, t] of TEXTS.entries()) {
      const single = await binary(request(s.inferenceUrl).post('/predictions/clf').set(inf).set('Content-Type', 'text/plain').send(t));
      assert.equal(label.data[i], text(single.body));
      assert.ok(LABELS.includes(label.data[i]));
      assert.ok(score.data[i] > 0 && score.data[i] <= 1);
    }
  });

  it('uses the request id when the client sends none, and returns only the outputs asked for', async () => {
    const r = await post('/v2/models/clf/versions/1.0/infer', {
      inputs: [{ name: 'text', shape: [1, 1], datatype: 'BYTES', data: [[TEXTS[0]]] }],
      outputs: [{ name: 'label' }],
    });
    assert.equal(r.status, 200);
    const body = json(r.body);
    assert.equal(body.id, r.headers['x-request-id']);
    assert.equal(body.outputs.length, 1);
    assert.deepEqual({ ...body.outputs[0], data: undefined }, { name: 'label', shape: [1], datatype: 'BYTES', data: undefined });
  });

  it('answers errors as {"error": message} with the status', async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ['/v2/models/clf/infer', 'not json', 400, 'The request body is not valid JSON'],
      ['/v2/models/clf/infer', { inputs: [] }, 400, 'The request needs a non-empty "inputs" array'],
      ['/v2/models/clf/infer', { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['a'] }] }, 400, 'Input "text" has shape [2] (2 elements) but 1 data elements'],
      ['/v2/models/clf/infer', { inputs: [{ name: 'ids', shape: [2], datatype: 'INT64', data: [1, 2] }] }, 400, 'The text_classifier takes one BYTES input tensor of texts, got ids (INT64)'],
      ['/v2/models/clf/infer', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: ['a'] }] }, 400, 'Input "x" element 0 is not a valid FP32 value: "a"'],
      ['/v2/models/clf/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['a'] }], outputs: [{ name: 'logits' }] }, 400, 'Unknown output "logits": the text_classifier has outputs label, score'],
      ['/v2/models/clf/infer', { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['ok', '  '] }] }, 400, 'Text 1: The text to classify is empty'],
      ['/v2/models/nope/infer', { inputs: [] }, 404, 'Model not found: nope'],
      ['/v2/models/clf/versions/9/infer', { inputs: [] }, 404, 'Model version: 9 does not exist for model: clf'],
    ];
    for (const [path, body, status, message] of cases) {
      const r = await post(path, body);
      assert.equal(r.status, status, `${path} ${JSON.stringify(body)}: ${text(r.body)}`);
      assert.deepEqual(json(r.body), { error: message });
    }
    const missing = await get('/v2/models/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'Model not found: nope' });
  });

  it("keeps TorchServe's shapes outside the OIP routes", async () => {
    const unknown = await get('/v2/models/clf/other/path');
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { code: 404, type: 'ResourceNotFoundException', message: 'Requested resource is not found, please refer to API document.' });
    const noToken = await request(s.inferenceUrl).get('/v2/health/live');
    assert.equal(noToken.status, 400);
    assert.equal(noToken.body.type, 'InvalidKeyException');
  });

  it('answers 503 not ready for a model without workers', async () => {
    await request(s.managementUrl).put('/models/clf?min_worker=0&synchronous=true').set(s.auth('management')).expect(200);
    try {
      const r = await get('/v2/models/clf/ready');
      assert.equal(r.status, 503);
      assert.deepEqual(r.body, { name: 'clf', ready: false });
      const inferred = await post('/v2/models/clf/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['x'] }] });
      assert.equal(inferred.status, 503);
      assert.deepEqual(Object.keys(json(inferred.body)), ['error']);
    } finally {
      await request(s.managementUrl).put('/models/clf?min_worker=1&synchronous=true').set(s.auth('management')).expect(200);
    }
  });
});

const V2_HANDLER = `
export function handle(data, ctx) {
  if (!data) return;
  return data.map((t) => (t.datatype === 'BYTES' ? t.data.map((s) => s.toUpperCase()) : t.data.flat().map((v) => v * 2)));
}
`;

describe('service_envelope=kservev2', () => {
  let s: TestServer;
  let inf: Record<string, string>;
  const post = (path: string, body: unknown) =>
    binary(request(s.inferenceUrl).post(path).set(inf).set('Content-Type', 'application/json').send(JSON.stringify(body))).then((r) => r);

  before(async () => {
    s = await startTestServer({ properties: { service_envelope: 'kservev2' } });
    inf = s.auth('inference');
    writeMar(s.modelStore, { name: 'tensors', handler: 'v2.js', files: { 'v2.js': V2_HANDLER } });
    await s.register('url=tensors.mar&initial_workers=1&synchronous=true');
  });
  after(() => s.stop());

  it("passes the first input tensor to the handler and answers in TorchServe's kservev2 shape", async () => {
    const r = await post('/v2/models/tensors/infer', { id: 'x1', inputs: [{ name: 'input-0', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] }] });
    assert.equal(r.status, 200, text(r.body));
    assert.deepEqual(json(r.body), {
      id: 'x1',
      model_name: 'tensors',
      model_version: '1.0',
      // Named after the input, as TorchServe's envelope names its outputs.
      outputs: [{ name: 'input-0', shape: [4], datatype: 'INT64', data: [2, 4, 6, 8] }],
    });
    const b = await post('/v2/models/tensors/infer', { inputs: [{ name: 'words', shape: [2], datatype: 'BYTES', data: ['a', 'b'] }] });
    assert.deepEqual(json(b.body), {
      id: b.headers['x-request-id'],
      model_name: 'tensors',
      model_version: '1.0',
      outputs: [{ name: 'words', shape: [2], datatype: 'BYTES', data: ['A', 'B'] }],
    });
  });

  it('answers a request that breaks the protocol with 400 {"error"}', async () => {
    const r = await post('/v2/models/tensors/infer', { inputs: [{ name: 'f', shape: [1], datatype: 'FP16', data: [] }] });
    assert.equal(r.status, 400);
    assert.deepEqual(json(r.body), { error: 'Input "f" has shape [1] (1 elements) but 0 data elements' });
  });
});

describe('service_envelope=kserve', () => {
  let s: TestServer;
  let inf: Record<string, string>;
  const post = (path: string, body: unknown) =>
    binary(request(s.inferenceUrl).post(path).set(inf).set('Content-Type', 'application/json').send(JSON.stringify(body))).then((r) => r);

  before(async () => {
    s = await startTestServer({ properties: { service_envelope: 'kserve' } });
    inf = s.auth('inference');
    await registerClassifier(s, 'clf');
  });
  after(() => s.stop());

  it('unwraps {"instances"} for the handler and answers {"predictions"} on /v1', async () => {
    const r = await post('/v1/models/clf:predict', { instances: TEXTS.map((t) => ({ data: t })) });
    assert.equal(r.status, 200, text(r.body));
    const body = json(r.body);
    assert.deepEqual(Object.keys(body), ['predictions']);
    assert.equal(body.predictions.length, 3);
    for (const p of body.predictions) assert.ok(LABELS.includes(p), p);
    const explained = await post('/v1/models/clf:explain', { instances: [{ data: TEXTS[0] }] });
    assert.deepEqual(Object.keys(json(explained.body)), ['explanations']);
  });

  it("answers a body without instances in TorchServe's error shape", async () => {
    const r = await post('/v1/models/clf:predict', { inputs: ['x'] });
    assert.equal(r.status, 400);
    assert.deepEqual(json(r.body), { code: 400, type: 'BadRequestException', message: 'Expected a JSON body {"instances": [...]}' });
    const missing = await post('/v1/models/nope:predict', { instances: [] });
    assert.equal(missing.status, 404);
    assert.deepEqual(json(missing.body), { code: 404, type: 'ModelNotFoundException', message: 'Model not found: nope' });
  });
});
