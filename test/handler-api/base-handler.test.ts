/**
 * The class-style handler path: the README's example handler (kept identical to the README by this
 * test) extends BaseHandler from 'ortserve', is compiled at registration and serves an ONNX model.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { DataType, GraphBuilder } from '../../tools/modelgen/index.js';
import { FIXTURE_HANDLERS, writeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const HANDLER = path.join(FIXTURE_HANDLERS, 'readme-handler.ts');

/** output = input · W with W = [[1, 0], [0, 1], [1, 1]]: [a, b, c] → [a + c, b + c]. */
function linearModel(): Uint8Array {
  const g = new GraphBuilder('linear');
  g.input('input', DataType.FLOAT, ['batch', 3]);
  const w = g.initializer('W', [3, 2], Float32Array.of(1, 0, 0, 1, 1, 1));
  g.op('MatMul', ['input', w], {}, '', 'output');
  g.output('output', DataType.FLOAT, ['batch', 2]);
  return g.encode();
}

describe('a BaseHandler subclass (the README example)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    writeMar(s.modelStore, {
      name: 'linear',
      handler: 'readme-handler.ts',
      serializedFile: 'model.onnx',
      files: { 'readme-handler.ts': readFileSync(HANDLER), 'model.onnx': Buffer.from(linearModel()) },
    });
    await request(s.managementUrl).post('/models?url=linear.mar&initial_workers=1&batch_size=4').set(s.auth('management')).expect(200);
  });
  after(() => s.stop());

  it('is the handler the README shows', () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readFileSync(README, 'utf8'))?.[1];
    assert.equal(block, readFileSync(HANDLER, 'utf8'));
  });

  it('runs preprocess → ONNX Runtime → postprocess', async () => {
    const r = await request(s.inferenceUrl).post('/predictions/linear').set(s.auth('inference')).type('json').send([1, 2, 3]);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), [4, 5]);
  });

  it('turns its PredictionException into the client status', async () => {
    const r = await request(s.inferenceUrl).post('/predictions/linear').set(s.auth('inference')).type('json').send({ not: 'numbers' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { code: 400, type: 'InternalServerException', message: 'send a JSON array of numbers' });
  });
});
