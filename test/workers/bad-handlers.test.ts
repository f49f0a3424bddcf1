/**
 * Archives whose handler cannot run: each registration with workers fails with TorchServe's error shape
 * (a handler that does not load or compile fails when its workers start, as in TorchServe; an archive
 * missing its weights fails at registration), the model is not registered, and no extraction or compile
 * directory is left.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

function entries(s: TestServer, root: string): string[] {
  try {
    return readdirSync(path.join(s.config.tempDir, root));
  } catch {
    return [];
  }
}

describe('archives whose handler cannot run', () => {
  let s: TestServer;
  let auth: Record<string, string>;

  before(async () => {
    s = await startTestServer({ properties: { enable_model_api: 'true' } });
    auth = s.auth('management');
    const mar = (name: string, handler: string, files: Record<string, string>, serializedFile?: string): void => {
      writeMar(s.modelStore, { name, handler, files, ...(serializedFile ? { serializedFile } : {}) });
    };
    mar('syntax', 'handler.ts', { 'handler.ts': 'export function handle(data: unknown[] {\n  return data;\n' });
    mar('nothing', 'handler.ts', { 'handler.ts': 'export const answer = 42;\n' });
    mar('twoclasses', 'handler.js', { 'handler.js': 'export class A { handle() { return []; } }\nexport class B { handle() { return []; } }\n' });
    mar('throwsonload', 'handler.js', { 'handler.js': "throw new Error('cannot start');\n" });
    mar('python', 'handler.py', { 'handler.py': 'def handle(data, context):\n    return data\n' });
    mar('noweights', 'handler.js', { 'handler.js': 'export function handle(d) { return d ?? []; }\n' }, 'model.onnx');
    // A TorchServe archive as torch-model-archiver writes it for a TorchScript model.
    mar('torchscript', 'image_classifier', { 'model.pt': 'PK\u0003\u0004 TorchScript zip' }, 'model.pt');
    mar('notonnx', 'image_classifier', { 'model.onnx': 'these bytes are no ONNX model' }, 'model.onnx');
    mar('tsbuiltin', 'base_handler', {});
  });
  after(() => s.stop());

  const cases: Array<[string, number, string, RegExp]> = [
    ['syntax', 500, 'InternalServerException', /^Failed to start workers for model syntax version: 1\.0\. Cause: Handler handler\.ts does not compile: /],
    ['python', 500, 'InternalServerException', /^Failed to start workers for model python version: 1\.0\. Cause: Python handlers are not supported by ortserve: handler\.py\. Write the handler in TypeScript or JavaScript, or use a built-in handler \(text_classifier, image_classifier, object_detector, image_segmenter\); see docs\/migrating-from-torchserve\.md/],
    ['tsbuiltin', 500, 'InternalServerException', /^Failed to start workers for model tsbuiltin version: 1\.0\. Cause: Handler not found: base_handler\. It is neither a file in the archive nor a built-in handler \(text_classifier, image_classifier, object_detector, image_segmenter\)\.$/],
    ['torchscript', 500, 'InternalServerException', /^Failed to start workers for model torchscript version: 1\.0\. Cause: model\.pt is a PyTorch weights file: ortserve runs ONNX models\. Export the model with torch\.onnx\.export; see docs\/migrating-from-torchserve\.md/],
    ['notonnx', 500, 'InternalServerException', /^Failed to start workers for model notonnx version: 1\.0\. Cause: .*model\.onnx failed:.*Protobuf parsing failed/],
    ['noweights', 400, 'InvalidModelException', /^Serialized file "model\.onnx" named in MAR-INF\/MANIFEST\.json is missing from the archive\.$/],
    ['nothing', 500, 'InternalServerException', /^Failed to start workers for model nothing version: 1\.0\. Cause: Expected only one class in custom service code or a function entry point \[\]$/],
    ['twoclasses', 500, 'InternalServerException', /^Failed to start workers for model twoclasses version: 1\.0\. Cause: Expected only one class in custom service code or a function entry point \[A, B\]$/],
    ['throwsonload', 500, 'InternalServerException', /^Failed to start workers for model throwsonload version: 1\.0\. Cause: cannot start$/],
  ];

  for (const [name, status, type, message] of cases) {
    it(`${name}: ${status} ${type}, not registered, nothing left behind`, async () => {
      const r = await request(s.managementUrl).post(`/models?url=${name}.mar&initial_workers=1&synchronous=true`).set(auth);
      assert.equal(r.status, status, r.text);
      assert.equal(r.body.code, status);
      assert.equal(r.body.type, type);
      assert.match(r.body.message, message);
      assert.ok(!r.body.message.includes('ortserve-models'), `the message names no temporary path: ${r.body.message}`);
      assert.equal((await request(s.managementUrl).get(`/models/${name}`).set(auth)).status, 404);
      assert.deepEqual(entries(s, 'ortserve-models'), []);
      assert.deepEqual(entries(s, 'ortserve-work'), []);
    });
  }

  it('still serves after all of them', async () => {
    assert.equal((await request(s.inferenceUrl).get('/ping').set(s.auth('inference'))).status, 200);
  });
});
