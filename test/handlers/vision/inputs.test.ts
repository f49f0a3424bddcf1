/**
 * The request forms TorchServe's VisionHandler accepts (raw bytes, a base64 string, a multipart file, a
 * prepared tensor as a nested list), ortserve's list of base64 images, batches across requests, and the
 * classifier's settings (topk, labels without index_to_name.json), through a real server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import path from 'node:path';
import { startTestServer, type TestServer } from '../../support/server.js';
import { image, predict, VISION_FIXTURES, writeVisionMar } from '../../support/vision.js';

/**
 * The same answer up to float rounding: same status, same labels in the same order, probabilities within
 * 1e-6. A batch of several images may run other GEMM kernels than a batch of one (with the shared
 * weights' unprepacked ORT-format session they differ in the 8th digit), so equality is too strict.
 */
function assertSameAnswer(actual: unknown, expected: unknown, where = 'answer'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) < 1e-6, `${where}: ${actual} vs ${expected}`);
    return;
  }
  if (expected === null || typeof expected !== 'object' || actual === null || typeof actual !== 'object') {
    assert.deepEqual(actual, expected, where);
    return;
  }
  assert.deepEqual(Object.keys(actual), Object.keys(expected), `${where}: keys in order`);
  for (const [k, v] of Object.entries(expected)) assertSameAnswer((actual as Record<string, unknown>)[k], v, `${where}.${k}`);
}

const PHOTOS = ['kitten.jpg', 'scene-red.png', 'scene-blue-portrait.jpg', 'scene-green-rgba.png', 'camera-gray.png', 'coffee.jpg'];

describe('vision handler inputs', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    writeVisionMar(s.modelStore, 'classifier');
    await s.register('url=classifier.mar&initial_workers=1&synchronous=true&batch_size=4&max_batch_delay=300');
    writeVisionMar(s.modelStore, 'classifier', { name: 'top2', yaml: 'handler:\n  topk: 2\n' });
    await s.register('url=top2.mar&initial_workers=1&synchronous=true');
    writeVisionMar(s.modelStore, 'classifier', { name: 'unlabelled', labels: false });
    await s.register('url=unlabelled.mar&initial_workers=1&synchronous=true');
  });
  after(() => s.stop());

  it('answers raw bytes, a base64 body, a data URL, a JSON string and a multipart file alike', async () => {
    const bytes = image('kitten.jpg');
    const b64 = bytes.toString('base64');
    const raw = await predict(s, 'classifier', bytes);
    assert.equal(raw.status, 200);
    assert.equal(Object.keys(raw.body).length, 4, 'top-5 of 4 classes is all 4');
    const form = new FormData();
    form.append('data', new Blob([bytes], { type: 'image/jpeg' }), 'kitten.jpg');
    const others = [
      await predict(s, 'classifier', b64, { 'Content-Type': 'text/plain' }),
      await predict(s, 'classifier', `data:image/jpeg;base64,${b64}`, { 'Content-Type': 'text/plain' }),
      await predict(s, 'classifier', JSON.stringify(b64), { 'Content-Type': 'application/json' }),
      await predict(s, 'classifier', form),
    ];
    for (const o of others) assert.deepEqual(o, raw);
  });

  it('answers a JSON list of base64 images with a list, each as its single answer', async () => {
    const singles = [];
    for (const name of PHOTOS.slice(0, 3)) singles.push((await predict(s, 'classifier', image(name))).body);
    const list = await predict(s, 'classifier', JSON.stringify(PHOTOS.slice(0, 3).map((n) => image(n).toString('base64'))), { 'Content-Type': 'application/json' });
    assert.equal(list.status, 200);
    assertSameAnswer(list.body, singles);
    assert.notDeepEqual(Object.keys(singles[0]), Object.keys(singles[1]), 'the images are told apart');
  });

  it('answers requests batched together as it answers them one at a time', async () => {
    const alone = [];
    for (const name of PHOTOS) alone.push(await predict(s, 'classifier', image(name)));
    const together = await Promise.all(PHOTOS.map((name) => predict(s, 'classifier', image(name))));
    assertSameAnswer(together.map((r) => r.body), alone.map((r) => r.body));
    assert.deepEqual(together.map((r) => r.status), alone.map((r) => r.status));
  });

  it('feeds a tensor sent as a nested list [3, 224, 224] to the model as it is', async () => {
    // A gradient image: each channel a different ramp, so the answer depends on every value.
    const tensor = [0, 1, 2].map((c) => Array.from({ length: 224 }, (_, y) => Array.from({ length: 224 }, (_, x) => ((c + 1) * (x + y)) / 448 - 1)));
    const answer = await predict(s, 'classifier', JSON.stringify(tensor), { 'Content-Type': 'application/json' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    // Independent: ONNX Runtime on the same values, softmax in float64.
    const session = await ort.InferenceSession.create(path.join(VISION_FIXTURES, 'classifier.onnx'));
    const flat = Float32Array.from(tensor.flat(2));
    const logits = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', flat, [1, 3, 224, 224]) }))[session.outputNames[0]!]!.data as Float32Array;
    const max = Math.max(...logits);
    const sum = Array.from(logits).reduce((a, v) => a + Math.exp(v - max), 0);
    const labels = ['red', 'green', 'blue', 'gray'];
    labels.forEach((label, i) => assert.ok(Math.abs(answer.body[label] - Math.exp(logits[i]! - max) / sum) < 1e-6, label));
    await session.release();
  });

  it('answers topk classes when model-config.yaml sets handler.topk', async () => {
    const full = (await predict(s, 'classifier', image('coffee.jpg'))).body;
    const top2 = (await predict(s, 'top2', image('coffee.jpg'))).body;
    assert.deepEqual(top2, Object.fromEntries(Object.entries(full).slice(0, 2)));
  });

  it('without index_to_name.json, labels are class indices, still best first in the JSON text', async () => {
    const r = await fetch(`${s.inferenceUrl}/predictions/unlabelled`, { method: 'POST', headers: s.auth('inference'), body: image('scene-blue-portrait.jpg') });
    const text = await r.text();
    const full = (await predict(s, 'classifier', image('scene-blue-portrait.jpg'))).body as Record<string, number>;
    const expected = Object.entries(full).map(([label, p]) => [String(['red', 'green', 'blue', 'gray'].indexOf(label)), p]);
    assert.deepEqual([...text.matchAll(/"(\d)": ([\d.e-]+)/g)].map((m) => [m[1], Number(m[2])]), expected);
    assert.equal(expected[0]![0], '2', 'blue (2) first, before the smaller indices');
  });
});
