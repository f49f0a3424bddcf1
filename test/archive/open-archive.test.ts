import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { EXTRACT_ROOT_NAME } from '../../src/archive/extract.js';
import { openArchive } from '../../src/archive/open-archive.js';
import { ModelNotFoundException } from '../../src/errors.js';
import { leftovers, makeTempDir, rejectsInvalid, tgzOf, writeModelDir, zipOf } from './helpers.js';

const exec = promisify(execFile);
const PYTHON_MISSING = spawnSync('python3', ['-c', 'import zipfile'], { stdio: 'ignore' }).status !== 0 && 'python3 is not installed';
const PYTHON_WRITER = `
import json, sys, zipfile
target = sys.stdout.buffer if sys.argv[1] == '-' else sys.argv[1]
with zipfile.ZipFile(target, 'w', zipfile.ZIP_DEFLATED) as z:
    for name, data in json.loads(sys.argv[2]).items():
        z.writestr(name, data)
`;

const MANIFEST = JSON.stringify({ runtime: 'python', model: { modelName: 'm', modelVersion: '2.0', serializedFile: 'model.onnx', configFile: 'c.yaml' } });

async function setup(): Promise<{ work: string; tempDir: string }> {
  const work = await makeTempDir();
  const tempDir = path.join(work, 'tmp');
  await fs.mkdir(tempDir);
  return { work, tempDir };
}

describe('openArchive on archive files', () => {
  it('extracts a .mar into a private directory and reads manifest and config', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'm.mar'), [
      { name: 'model.onnx', data: 'weights' },
      { name: 'c.yaml', data: 'batchSize: 4\nhandler:\n  k: v\n' },
      { name: 'sub/dir/f.txt', data: 'deep' },
      { name: 'MAR-INF/MANIFEST.json', data: MANIFEST },
    ]);
    const opened = await openArchive(file, { tempDir });
    const root = path.join(tempDir, EXTRACT_ROOT_NAME);
    assert.equal(path.dirname(opened.modelDir), root);
    // <host>-<pid>-<uuid> (owned-dirs.ts): a later server can remove it if this process dies.
    assert.equal(path.basename(opened.modelDir), `${os.hostname()}-${process.pid}-${path.basename(opened.modelDir).split('-').at(-1)}`);
    assert.match(path.basename(opened.modelDir), /-[0-9a-f]{32}$/);
    assert.equal((await fs.stat(opened.modelDir)).mode & 0o777, 0o700);
    assert.equal(opened.extracted, true);
    assert.equal(opened.manifest.model.modelVersion, '2.0');
    assert.equal(opened.hasConfigFile, true);
    assert.equal(opened.modelConfig.batchSize, 4);
    assert.deepEqual(opened.modelConfig.raw.handler, { k: 'v' });
    assert.equal(await fs.readFile(path.join(opened.modelDir, 'sub/dir/f.txt'), 'utf8'), 'deep');
    await opened.dispose();
    await opened.dispose();
    assert.deepEqual(await leftovers(tempDir), []);
  });

  it("reads .mar files written by Python's zipfile (torch-model-archiver), with and without data descriptors", { skip: PYTHON_MISSING }, async () => {
    const { work, tempDir } = await setup();
    const manifest = MANIFEST.replace(',"serializedFile":"model.onnx","configFile":"c.yaml"', '');
    const contents = { 'dir/a.txt': 'from python '.repeat(50), 'MAR-INF/MANIFEST.json': manifest };
    // '-' writes to a pipe: zipfile cannot seek back, so it sets bit 3 and writes data descriptors.
    for (const target of [path.join(work, 'py.mar'), '-']) {
      const { stdout } = await exec('python3', ['-c', PYTHON_WRITER, target, JSON.stringify(contents)], { encoding: 'buffer' });
      const file = target === '-' ? path.join(work, 'py-stream.mar') : target;
      if (target === '-') await fs.writeFile(file, stdout);
      const opened = await openArchive(file, { tempDir });
      assert.equal(await fs.readFile(path.join(opened.modelDir, 'dir/a.txt'), 'utf8'), contents['dir/a.txt']);
      await opened.dispose();
    }
    assert.deepEqual(await leftovers(tempDir), []);
  });

  it('unwraps a tarball with a single top-level directory and streams large entries', async () => {
    const { work, tempDir } = await setup();
    const big = randomBytes(3 * 1024 * 1024);
    const file = await tgzOf(path.join(work, 'm.tar.gz'), [
      { name: 'm/', type: '5' },
      { name: 'm/model.onnx', data: big },
      { name: 'm/c.yaml', data: 'minWorkers: 2\n' },
      { name: 'm/MAR-INF/MANIFEST.json', data: MANIFEST },
    ]);
    const opened = await openArchive(file, { tempDir });
    assert.equal(path.basename(opened.modelDir), 'm');
    assert.deepEqual(await fs.readFile(path.join(opened.modelDir, 'model.onnx')), big);
    assert.equal(opened.modelConfig.minWorkers, 2);
    await opened.dispose();
    assert.deepEqual(await leftovers(tempDir), []);
  });

  it('opens a flat tarball as it is', async () => {
    const { work, tempDir } = await setup();
    const file = await tgzOf(path.join(work, 'flat.tgz'), [
      { name: './model.onnx', data: 'w' },
      { name: './c.yaml', data: '' },
      { name: './MAR-INF/MANIFEST.json', data: MANIFEST },
    ]);
    const opened = await openArchive(file, { tempDir });
    assert.equal(path.dirname(opened.modelDir), path.join(tempDir, EXTRACT_ROOT_NAME));
    assert.equal(opened.manifest.model.modelName, 'm');
    await opened.dispose();
  });

  it('removes the extraction directory when the manifest is invalid', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'bad.mar'), [{ name: 'MAR-INF/MANIFEST.json', data: '{"runtime":"java"}' }]);
    await rejectsInvalid(openArchive(file, { tempDir }), /^Runtime is not defined or invalid\.$/);
    const missing = await zipOf(path.join(work, 'missing.mar'), [{ name: 'MAR-INF/MANIFEST.json', data: MANIFEST }]);
    await rejectsInvalid(openArchive(missing, { tempDir }), /model\.onnx/);
    assert.deepEqual(await leftovers(tempDir), []);
  });

  it('reports a missing source as not found', async () => {
    const { work, tempDir } = await setup();
    await assert.rejects(openArchive(path.join(work, 'nope.mar'), { tempDir }), ModelNotFoundException);
  });
});

describe('openArchive on directories', () => {
  it('serves a model directory in place; dispose leaves it alone', async () => {
    const { work, tempDir } = await setup();
    const dir = await writeModelDir(path.join(work, 'model'));
    const opened = await openArchive(dir, { tempDir });
    assert.equal(opened.modelDir, dir);
    assert.equal(opened.extracted, false);
    assert.equal(opened.hasConfigFile, false);
    assert.deepEqual(opened.modelConfig, { raw: {} });
    await opened.dispose();
    assert.ok((await fs.stat(path.join(dir, 'model.onnx'))).isFile());
    assert.deepEqual(await leftovers(tempDir), []);
  });

  it('unwraps a directory holding a single sub-directory, but not a lone MAR-INF', async () => {
    const { work, tempDir } = await setup();
    const inner = await writeModelDir(path.join(work, 'outer', 'inner'));
    assert.equal((await openArchive(path.join(work, 'outer'), { tempDir })).modelDir, inner);
    const only = path.join(work, 'only-manifest');
    await fs.mkdir(path.join(only, 'MAR-INF'), { recursive: true });
    await fs.writeFile(path.join(only, 'MAR-INF', 'MANIFEST.json'), '{}');
    assert.equal((await openArchive(only, { tempDir })).modelDir, only);
  });

  it('uses an empty manifest for a directory without one', async () => {
    const { work, tempDir } = await setup();
    const dir = path.join(work, 'bare');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'a.txt'), 'a');
    assert.deepEqual((await openArchive(dir, { tempDir })).manifest, { runtime: 'python', model: {} });
  });
});
