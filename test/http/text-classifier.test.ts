/** The built-in text_classifier served end to end: archive → register → predictions over HTTP. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeMar } from '../support/archives.js';
import { binary, json, text } from '../support/http.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';
import { writeTinyTextModel } from '../support/tiny-model.js';

const LABELS = ['music', 'sports', 'theatre', 'food'];
const EVENTS = [
  'Jazz concert tonight at the old theatre',
  'Partido de fútbol el domingo a las 18:00 en el estadio',
  'Wine tasting and tapas, 25 euros per person',
  'Teatro infantil: Caperucita Roja, entrada libre',
  'Marathon registration opens next week',
  'Exposición de fotografía en el museo municipal',
];

describe('text_classifier over HTTP', () => {
  let s: TestServer;
  let inf: Record<string, string>;

  before(async () => {
    s = await startTestServer();
    inf = s.auth('inference');
    const modelDir = makeTempDir('ortserve-tiny-');
    await writeTinyTextModel(modelDir, { labels: LABELS });
    const files = Object.fromEntries(readdirSync(modelDir).map((f) => [f, readFileSync(path.join(modelDir, f))]));
    writeMar(s.modelStore, { name: 'clf', handler: 'text_classifier', serializedFile: 'model.onnx', files });
    await request(s.managementUrl)
      .post('/models?url=clf.mar&initial_workers=1&batch_size=8&max_batch_delay=50')
      .set(s.auth('management'))
      .expect(200);
  });
  after(() => s.stop());

  const predict = (body: string, type?: string) => {
    const r = request(s.inferenceUrl).put('/predictions/clf').set(inf);
    // superagent serialises a Buffer as JSON under a JSON type, and gives a string a form type when
    // there is none: a string with an explicit type, bytes without one (as curl -T sends them).
    const sent = type ? r.set('Content-Type', type).send(body) : r.send(Buffer.from(body));
    return binary(sent).then((x) => x);
  };

  it('answers a plain-text body with the label name as plain text', async () => {
    const r = await predict(EVENTS[0]!);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], undefined);
    assert.ok(LABELS.includes(text(r.body)), text(r.body));
  });

  it('answers one label per line for a multi-line body, each as if sent alone', async () => {
    const singles = await Promise.all(EVENTS.map(async (e) => text((await predict(e)).body)));
    const r = await predict(EVENTS.join('\n'), 'text/plain');
    assert.equal(r.status, 200);
    assert.deepEqual(json(r.body), singles);
    assert.ok(new Set(singles).size > 1, 'the tiny model tells these events apart');
  });

  it('gives concurrent requests, batched together, the same answers as one at a time', async () => {
    const alone: string[] = [];
    for (const e of EVENTS) alone.push(text((await predict(e)).body));
    const together = await Promise.all(EVENTS.map((e) => predict(e)));
    assert.deepEqual(together.map((r) => text(r.body)), alone);
  });

  it('answers {"text", "top_k"} with labels and scores, best first', async () => {
    const r = await predict(JSON.stringify({ text: EVENTS[1], top_k: 2 }), 'application/json');
    assert.equal(r.status, 200);
    const top = json(r.body) as Array<{ label: string; score: number }>;
    assert.equal(top.length, 2);
    assert.ok(top[0]!.score >= top[1]!.score);
    assert.ok(LABELS.includes(top[0]!.label));
    assert.equal(top[0]!.label, text((await predict(EVENTS[1]!)).body));
  });

  it('answers an empty text with a 400 in TorchServe error shape', async () => {
    const r = await predict('', 'text/plain');
    assert.equal(r.status, 400);
    assert.equal(json(r.body).type, 'InternalServerException');
  });
});
