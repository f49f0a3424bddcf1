import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  emptyManifest,
  isValidModelName,
  parseManifest,
  readManifest,
  validateModelName,
  validateModelVersion,
} from '../../src/archive/manifest.js';
import { InvalidModelException } from '../../src/errors.js';
import { makeTempDir, rejectsInvalid, writeModelDir } from './helpers.js';

function throwsInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidModelException, `expected InvalidModelException, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('parseManifest', () => {
  it('fills in TorchServe defaults for missing runtime and model', () => {
    assert.deepEqual(parseManifest('{}'), { runtime: 'python', model: {} });
    assert.deepEqual(emptyManifest(), { runtime: 'python', model: {} });
  });

  it('keeps the fields of a torch-model-archiver manifest', () => {
    const m = parseManifest(
      JSON.stringify({
        createdOn: '17/03/2025 11:20:57',
        runtime: 'python3',
        model: { modelName: 'bert', serializedFile: 'model.onnx', handler: 'h.py:fn', modelVersion: '2.0', configFile: 'c.yaml', unknown: 1 },
        archiverVersion: '0.12.0',
        extra: true,
      }),
    );
    assert.deepEqual(m, {
      createdOn: '17/03/2025 11:20:57',
      runtime: 'python3',
      model: { modelName: 'bert', serializedFile: 'model.onnx', handler: 'h.py:fn', modelVersion: '2.0', configFile: 'c.yaml' },
      archiverVersion: '0.12.0',
    });
  });

  it('accepts the runtimes python, python3 and LSP', () => {
    for (const runtime of ['python', 'python3', 'LSP']) assert.equal(parseManifest(JSON.stringify({ runtime })).runtime, runtime);
  });

  it('refuses any other runtime with TorchServe message', () => {
    for (const runtime of ['java', 'PYTHON', null, 3]) {
      throwsInvalid(() => parseManifest(JSON.stringify({ runtime })), /^Runtime is not defined or invalid\.$/);
    }
  });

  it('reports invalid JSON as "Failed to parse signature.json."', () => {
    throwsInvalid(() => parseManifest('{"model": '), /^Failed to parse signature\.json\./);
    throwsInvalid(() => parseManifest('[1]'), /^Failed to parse signature\.json\./);
    throwsInvalid(() => parseManifest('null'), /^Failed to parse signature\.json\./);
    throwsInvalid(() => parseManifest('{"model": [1]}'), /^Failed to parse signature\.json\./);
    throwsInvalid(() => parseManifest('{"model": {"modelName": {"a": 1}}}'), /^Failed to parse signature\.json\..*modelName/);
  });

  it('reports a null model entry', () => {
    throwsInvalid(() => parseManifest('{"model": null}'), /^Missing Model entry in manifest file\.$/);
  });

  it('turns numbers into strings as Gson does', () => {
    assert.equal(parseManifest('{"model": {"modelVersion": 2}}').model.modelVersion, '2');
  });
});

describe('readManifest', () => {
  it('returns the empty manifest when MAR-INF/MANIFEST.json is missing', async () => {
    const dir = await makeTempDir();
    assert.deepEqual(await readManifest(dir), { runtime: 'python', model: {} });
  });

  it('reads a manifest whose serialized file is present', async () => {
    const dir = await writeModelDir(await makeTempDir());
    const m = await readManifest(dir);
    assert.equal(m.model.serializedFile, 'model.onnx');
  });

  it('refuses a manifest naming a serialized file that is missing, naming the file', async () => {
    const dir = await writeModelDir(await makeTempDir(), { model: { serializedFile: 'weights.onnx' } });
    await rejectsInvalid(readManifest(dir), /weights\.onnx/);
  });

  it('refuses a serialized file outside the model directory', async () => {
    const dir = await writeModelDir(await makeTempDir(), { model: { serializedFile: '../outside.onnx' } });
    await fs.writeFile(path.join(dir, '..', 'outside.onnx'), 'x');
    await rejectsInvalid(readManifest(dir), /outside\.onnx.*not a file inside the archive/);
  });

  it('reports unparseable JSON from the file', async () => {
    const dir = await makeTempDir();
    await fs.mkdir(path.join(dir, 'MAR-INF'));
    await fs.writeFile(path.join(dir, 'MAR-INF', 'MANIFEST.json'), '{oops');
    await rejectsInvalid(readManifest(dir), /^Failed to parse signature\.json\./);
  });
});

describe('model name and version checks', () => {
  it('accepts names that pass torch-model-archiver filter', () => {
    for (const name of ['squeezenet', 'bert_base-1.0', '9lives', 'A.b']) {
      assert.ok(isValidModelName(name), name);
      validateModelName(name);
    }
  });

  it('refuses other names', () => {
    for (const name of ['-x', '_x', '.x', 'a/b', 'a b', 'a\\b', 'é']) {
      assert.equal(isValidModelName(name), false, name);
      throwsInvalid(() => validateModelName(name), /Model name contains special characters/);
    }
    throwsInvalid(() => validateModelName(''), /^Model name is not defined\.$/);
    throwsInvalid(() => validateModelName(undefined), /^Model name is not defined\.$/);
  });

  it('refuses versions with path or control characters', () => {
    for (const version of ['1.0', '2', 'v1-beta']) validateModelVersion(version);
    for (const version of ['1/0', '..', '.', 'a\\b', 'x\ny']) {
      throwsInvalid(() => validateModelVersion(version), /Invalid model version/);
    }
    throwsInvalid(() => validateModelVersion(''), /^Model version is not defined\.$/);
  });
});
