/**
 * Issue 16, item 1: the ORT-format cache behind shared weights. A cached file is reused only for the same
 * model bytes and graph options (a replaced model or other options get a new file, so a stale one is
 * never opened), thread counts do not matter, and a session from the cache computes what a session of
 * the .onnx file itself computes (ONNX Runtime on the original model is the reference).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { threadSessionOptions } from '../../src/handler-api/base-handler.js';
import { ensureOrtFile, openModelSession } from '../../src/handler-api/model-session.js';
import { makeTempDir } from '../support/server.js';
import { writeTinyTextModel } from '../support/tiny-model.js';

const IDS = [101n, 7n, 42n, 300n, 11n, 102n];

async function logits(session: ort.InferenceSession): Promise<number[]> {
  const ids = new ort.Tensor('int64', BigInt64Array.from(IDS), [1, IDS.length]);
  const mask = new ort.Tensor('int64', new BigInt64Array(IDS.length).fill(1n), [1, IDS.length]);
  const out = await session.run({ input_ids: ids, attention_mask: mask });
  return Array.from(out.logits!.data as Float32Array);
}

async function reference(file: string): Promise<number[]> {
  const s = await ort.InferenceSession.create(file, threadSessionOptions(1));
  try {
    return await logits(s);
  } finally {
    await s.release();
  }
}

function close(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) < 1e-4);
}

describe('the ORT-format cache of shared weights (issue 16)', () => {
  let dir: string;
  let model: string;
  let cache: string;
  before(async () => {
    dir = makeTempDir();
    await writeTinyTextModel(path.join(dir, 'a'), { seed: 3 });
    await writeTinyTextModel(path.join(dir, 'b'), { seed: 5 });
    model = path.join(dir, 'model.onnx');
    cache = path.join(dir, 'cache');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('converts once, reuses the file for other thread counts, and computes what the .onnx computes', async () => {
    writeFileSync(model, readModel('a'));
    const first = await ensureOrtFile(model, threadSessionOptions(1), cache);
    const mtime = statSync(first).mtimeMs;
    const again = await ensureOrtFile(model, threadSessionOptions(2), cache);
    assert.equal(again, first);
    assert.equal(statSync(again).mtimeMs, mtime, 'not written again');
    const s = await openModelSession(model, threadSessionOptions(2), cache);
    assert.ok(close(await logits(s), await reference(path.join(dir, 'a', 'model.onnx'))));
    await s.release();
  });

  it('a replaced model gets a new file, and its sessions compute the new model', async () => {
    const before = new Set(readdirSync(cache));
    writeFileSync(model, readModel('b'));
    const file = await ensureOrtFile(model, threadSessionOptions(1), cache);
    assert.ok(!before.has(path.basename(file)), 'a new cache file for new model bytes');
    const s = await openModelSession(model, threadSessionOptions(1), cache);
    const got = await logits(s);
    await s.release();
    const expected = await reference(path.join(dir, 'b', 'model.onnx'));
    assert.ok(close(got, expected), `${got} vs ${expected}`);
    assert.ok(!close(got, await reference(path.join(dir, 'a', 'model.onnx'))), 'the two models differ');
  });

  it('other graph options get a new file', async () => {
    const base = await ensureOrtFile(model, threadSessionOptions(1), cache);
    const basic = await ensureOrtFile(model, { ...threadSessionOptions(1), graphOptimizationLevel: 'basic' }, cache);
    assert.notEqual(basic, base);
  });

  it('concurrent conversions publish one file without leftovers', async () => {
    const fresh = path.join(dir, 'cache2');
    const files = await Promise.all([1, 2, 3].map(() => ensureOrtFile(model, threadSessionOptions(1), fresh)));
    assert.equal(new Set(files).size, 1);
    assert.deepEqual(readdirSync(fresh), [path.basename(files[0]!)]);
  });

  function readModel(which: string): Buffer {
    return Buffer.from(readFileSync(path.join(dir, which, 'model.onnx')));
  }
});
