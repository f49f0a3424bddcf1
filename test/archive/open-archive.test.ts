import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import AdmZip from 'adm-zip';
import { EXTRACT_ROOT_NAME } from '../../src/archive/extract.js';
import { openArchive } from '../../src/archive/open-archive.js';
import { ModelNotFoundException } from '../../src/errors.js';
import { leftovers, makeTempDir, rejectsInvalid, tgzOf, writeModelDir, zipOf } from './helpers.js';

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
    assert.match(path.basename(opened.modelDir), /^[0-9a-f]{32}$/);
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

  it('reads ZIP64 records', async () => {
    const { work, tempDir } = await setup();
    const data = randomBytes(70_000);
    const file = await zipOf(path.join(work, 'z64.mar'), [{ name: 'a.bin', data }, { name: 'b.txt', data: 'b' }], { forceZip64: true });
    const opened = await openArchive(file, { tempDir });
    assert.deepEqual(await fs.readFile(path.join(opened.modelDir, 'a.bin')), data);
    await opened.dispose();
  });

  it('reads zips written by another implementation (adm-zip), and adm-zip reads ours', async () => {
    const { work, tempDir } = await setup();
    const adm = new AdmZip();
    adm.addFile('dir/a.txt', Buffer.from('from adm-zip'));
    adm.addFile('MAR-INF/MANIFEST.json', Buffer.from(MANIFEST.replace(',"serializedFile":"model.onnx","configFile":"c.yaml"', '')));
    const file = path.join(work, 'adm.mar');
    adm.writeZip(file);
    const opened = await openArchive(file, { tempDir });
    assert.equal(await fs.readFile(path.join(opened.modelDir, 'dir/a.txt'), 'utf8'), 'from adm-zip');
    await opened.dispose();

    const ours = await zipOf(path.join(work, 'ours.mar'), [{ name: 'x/y.txt', data: 'ours '.repeat(100) }]);
    assert.equal(new AdmZip(ours).readAsText('x/y.txt'), 'ours '.repeat(100));
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
