/**
 * Inference and tokenization never run on the HTTP thread: while a worker runs a large batch
 * (about a second of ONNX Runtime work), the HTTP thread's event loop stays responsive.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { buildModelFiles } from '../../tools/modelgen/model-dir.js';
import { writeMar } from '../support/archives.js';
import request from 'supertest';
import { binary, json, text } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `concert ${i} at the old theatre with jazz and tapas`).join(' ');

describe('the HTTP thread during a large batch', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    // ~7 M parameters: a batch of 32 × 256 tokens is about a second of inference on 2 cores.
    const { files } = buildModelFiles({ layers: 4, hidden: 384, heads: 6, ffn: 1536, vocabSize: 2000, maxPosition: 256, labels: ['a', 'b'] });
    writeMar(s.modelStore, {
      name: 'mid',
      handler: 'text_classifier',
      serializedFile: 'model.onnx',
      files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? v : Buffer.from(v)])),
      yaml: 'batchSize: 32\nmaxBatchTokens: 100000\n',
    });
    await s.register('url=mid.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('keeps the event-loop delay low while the worker runs the batch', async () => {
    const predict = (body: string) =>
      binary(request(s.inferenceUrl).put('/predictions/mid').set(s.auth('inference')).type('text').send(body)).then((r) => r);
    // Warm up the session, so that the measurement covers inference, not graph optimisation.
    assert.equal((await predict('warm up')).status, 200);
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const start = performance.now();
    const r = await predict(Array.from({ length: 32 }, () => LONG_TEXT).join('\n'));
    const took = performance.now() - start;
    lag.disable();
    assert.equal(r.status, 200, text(r.body));
    assert.equal((json(r.body) as string[]).length, 32);
    assert.ok(took > 300, `the batch took ${took.toFixed(0)} ms: too short to show anything`);
    const maxMs = lag.max / 1e6;
    assert.ok(maxMs < 100, `the HTTP thread stalled for ${maxMs.toFixed(0)} ms while inference took ${took.toFixed(0)} ms`);
  });
});
