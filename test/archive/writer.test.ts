import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import AdmZip from 'adm-zip';
import { openArchive } from '../../src/archive/open-archive.js';
import { MAX_ZIP_FILE_BYTES } from '../../src/archive/types.js';
import {
  ArchiverError,
  createArchive,
  formatCreatedOn,
  formatManifestJson,
  type ArchiveFormat,
  type CreateArchiveOptions,
} from '../../src/archive/writer.js';
import { leftovers, makeTempDir } from './helpers.js';

const exec = promisify(execFile);
const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const TOOLS_MISSING = !(has('python3', ['-c', 'import zipfile']) && has('unzip', ['-v'])) && 'python3 or unzip is not installed';

/** A source tree like a user's: weights, handler, config, and extra files with things to exclude. */
async function sources(): Promise<{ src: string; base: CreateArchiveOptions }> {
  const src = await makeTempDir('ortserve-src-');
  await fs.writeFile(path.join(src, 'model.onnx'), 'weights');
  await fs.writeFile(path.join(src, 'my_handler.ts'), 'export function handle() {}');
  await fs.writeFile(path.join(src, 'model-config.yaml'), 'batchSize: 2\n');
  await fs.writeFile(path.join(src, 'requirements.txt'), 'numpy\n');
  const extra = path.join(src, 'extra');
  for (const dir of ['sub', '__pycache__', '.git', '__MACOSX', 'sub/.hidden']) await fs.mkdir(path.join(extra, dir), { recursive: true });
  await fs.writeFile(path.join(extra, 'index_to_name.json'), '{"0":"a"}');
  await fs.writeFile(path.join(extra, 'sub', 'vocab.txt'), 'v');
  await fs.writeFile(path.join(extra, '__pycache__', 'x.pyc'), 'c');
  await fs.writeFile(path.join(extra, '.git', 'HEAD'), 'h');
  await fs.writeFile(path.join(extra, '__MACOSX', 'junk'), 'j');
  await fs.writeFile(path.join(extra, 'sub', '.hidden', 'secret'), 's');
  await fs.writeFile(path.join(src, 'notes1.md'), '1');
  await fs.writeFile(path.join(src, 'notes2.md'), '2');
  await fs.writeFile(path.join(src, '.dot.md'), 'dot');
  const base: CreateArchiveOptions = {
    modelName: 'bert',
    version: '1.0',
    handler: path.join(src, 'my_handler.ts'),
    serializedFile: path.join(src, 'model.onnx'),
    extraFiles: `${extra}, ${path.join(src, 'notes?.md')},${path.join(src, '*.md')}`,
    requirementsFile: path.join(src, 'requirements.txt'),
    configFile: path.join(src, 'model-config.yaml'),
    exportPath: path.join(src, 'out', 'nested'),
    now: new Date(2025, 2, 17, 11, 20, 57),
  };
  return { src, base };
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)));
    else out.push(prefix + entry.name);
  }
  return out.sort();
}

const EXPECTED_FILES = [
  'MAR-INF/MANIFEST.json',
  'index_to_name.json',
  'model-config.yaml',
  'model.onnx',
  'my_handler.ts',
  'notes1.md',
  'notes2.md',
  'requirements.txt',
  'sub/vocab.txt',
];

const EXPECTED_MANIFEST = `{
  "createdOn": "17/03/2025 11:20:57",
  "runtime": "python",
  "model": {
    "modelName": "bert",
    "serializedFile": "model.onnx",
    "handler": "my_handler.ts",
    "modelVersion": "1.0",
    "requirementsFile": "requirements.txt",
    "configFile": "model-config.yaml"
  },
  "archiverVersion": "0.12.0"
}`;

describe('createArchive round trips through openArchive', () => {
  const formats: Array<[ArchiveFormat, string]> = [
    ['default', 'bert.mar'],
    ['zip-store', 'bert.mar'],
    ['tgz', 'bert.tar.gz'],
    ['no-archive', 'bert'],
  ];
  for (const [format, output] of formats) {
    it(`writes the ${format} format`, async () => {
      const { base } = await sources();
      const result = await createArchive({ ...base, archiveFormat: format });
      assert.equal(result.outputPath, path.join(base.exportPath, output));
      assert.equal(result.manifestJson, EXPECTED_MANIFEST);
      assert.deepEqual(await fs.readdir(base.exportPath), [output]);

      const tempDir = await makeTempDir();
      const opened = await openArchive(result.outputPath, { tempDir });
      if (format === 'tgz') assert.equal(path.basename(opened.modelDir), 'bert');
      assert.deepEqual(await listFiles(opened.modelDir), EXPECTED_FILES);
      assert.equal(await fs.readFile(path.join(opened.modelDir, 'MAR-INF/MANIFEST.json'), 'utf8'), EXPECTED_MANIFEST);
      assert.equal(await fs.readFile(path.join(opened.modelDir, 'model.onnx'), 'utf8'), 'weights');
      assert.equal(opened.manifest.model.handler, 'my_handler.ts');
      assert.equal(opened.modelConfig.batchSize, 2);
      await opened.dispose();
      assert.deepEqual(await leftovers(tempDir), []);
    });
  }

  it('stores entries uncompressed in zip-store and compressed in default', async () => {
    const { src, base } = await sources();
    await fs.writeFile(path.join(src, 'model.onnx'), 'a'.repeat(100_000));
    const stored = await createArchive({ ...base, archiveFormat: 'zip-store' });
    const deflated = await createArchive({ ...base, modelName: 'bert2' });
    assert.ok((await fs.stat(stored.outputPath)).size > 100_000);
    assert.ok((await fs.stat(deflated.outputPath)).size < 10_000);
    const methods = (file: string): number[] => new AdmZip(file).getEntries().map((e) => e.header.method);
    assert.deepEqual(new Set(methods(stored.outputPath)), new Set([0]));
    assert.deepEqual(new Set(methods(deflated.outputPath)), new Set([8]));
  });

  it("writes .mar files that Python's zipfile and unzip -t accept, in both zip formats", { skip: TOOLS_MISSING }, async () => {
    const { base } = await sources();
    for (const format of ['default', 'zip-store'] as const) {
      const { outputPath } = await createArchive({ ...base, modelName: `bert-${format}`, archiveFormat: format });
      const { stdout } = await exec('python3', ['-c', 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).testzip())', outputPath]);
      assert.equal(stdout.trim(), 'None', format);
      await exec('unzip', ['-tqq', outputPath]);
    }
  });
});

describe('createArchive details', () => {
  it('formats the manifest like Python json.dumps(indent=2)', () => {
    assert.equal(formatCreatedOn(new Date(2024, 0, 5, 3, 4, 5)), '05/01/2024 03:04:05');
    const json = formatManifestJson({ runtime: 'python', model: { modelName: 'm', handler: 'hé.ts' } });
    assert.equal(json, '{\n  "runtime": "python",\n  "model": {\n    "modelName": "m",\n    "handler": "h\\u00e9.ts"\n  }\n}');
  });

  it('omits optional keys and does not copy a built-in handler; keeps :function in the manifest', async () => {
    const { src, base } = await sources();
    const minimal = await createArchive({ modelName: 'tc', version: '2', handler: 'text_classifier', exportPath: base.exportPath, archiveFormat: 'no-archive' });
    assert.deepEqual(minimal.manifest.model, { modelName: 'tc', handler: 'text_classifier', modelVersion: '2' });
    assert.deepEqual(await listFiles(minimal.outputPath), ['MAR-INF/MANIFEST.json']);

    const withFn = await createArchive({ modelName: 'fn', version: '1', handler: `${path.join(src, 'my_handler.ts')}:handle`, exportPath: base.exportPath, archiveFormat: 'no-archive' });
    assert.equal(withFn.manifest.model.handler, 'my_handler.ts:handle');
    assert.deepEqual(await listFiles(withFn.outputPath), ['MAR-INF/MANIFEST.json', 'my_handler.ts']);

    const noExt = await createArchive({ modelName: 'noext', version: '1', handler: path.join(src, 'my_handler'), exportPath: base.exportPath, archiveFormat: 'no-archive' });
    assert.equal(noExt.manifest.model.handler, 'my_handler');
    assert.deepEqual(await listFiles(noExt.outputPath), ['MAR-INF/MANIFEST.json', 'my_handler.ts']);
  });

  it('refuses an existing output unless forced, with torch-model-archiver message', async () => {
    const { base } = await sources();
    const first = await createArchive(base);
    await assert.rejects(createArchive(base), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.equal(
        err.message,
        `${first.outputPath} already exists.\nPlease specify --force/-f option to overwrite the model archive output file.\nSee -h/--help for more details.`,
      );
      return true;
    });
    const warnings: string[] = [];
    await createArchive({ ...base, version: '2.0', force: true, onWarning: (w) => warnings.push(w) });
    // The base archive has a requirements file, which ortserve warns about too (test/cli/archiver-warnings.test.ts).
    assert.deepEqual(warnings.filter((w) => w.startsWith('Overwriting')), [`Overwriting ${first.outputPath} ...`]);
    const tempDir = await makeTempDir();
    const opened = await openArchive(first.outputPath, { tempDir });
    assert.equal(opened.manifest.model.modelVersion, '2.0');
    await opened.dispose();
    assert.deepEqual(await fs.readdir(base.exportPath), ['bert.mar']);
  });

  it('reports missing inputs and bad names, leaving no output', async () => {
    const { src, base } = await sources();
    const cases: Array<[Partial<CreateArchiveOptions>, RegExp]> = [
      [{ serializedFile: path.join(src, 'nope.onnx') }, /^File does not exist: .*nope\.onnx$/],
      [{ extraFiles: path.join(src, 'nope*.txt') }, /^File does not exist: .*nope\*\.txt$/],
      [{ handler: path.join(src, 'nope.ts') }, /^Handler file does not exist: .*nope\.ts$/],
      [{ modelName: '-bad' }, /^Model name contains special characters\.\nThe allowed regular expression filter for model name is: \^\[A-Za-z0-9\]\[A-Za-z0-9_\\-\.\]\*\$$/],
    ];
    for (const [change, pattern] of cases) {
      await assert.rejects(createArchive({ ...base, ...change }), (err: unknown) => err instanceof ArchiverError && pattern.test(err.message));
    }
    assert.deepEqual(await fs.readdir(base.exportPath), []);
  });

  it('refuses a .mar too large to build in memory before reading the files, pointing at tgz', async () => {
    const { src, base } = await sources();
    await fs.truncate(path.join(src, 'model.onnx'), MAX_ZIP_FILE_BYTES); // sparse: no disk space used
    await assert.rejects(createArchive(base), (err: unknown) => {
      assert.ok(err instanceof ArchiverError);
      assert.match(err.message, /^The archive would hold \d+ bytes; \.mar files are built in memory and limited to 2147483647 bytes\. Use --archive-format tgz or no-archive/);
      return true;
    });
    assert.deepEqual(await fs.readdir(base.exportPath), []);
  });

  it('records file modes and times, with times before 1980 (invalid in zip) moved to 1980', async () => {
    const { src, base } = await sources();
    await fs.chmod(path.join(src, 'requirements.txt'), 0o600);
    await fs.utimes(path.join(src, 'model.onnx'), new Date(1970, 0, 2), new Date(1970, 0, 2));
    const { outputPath } = await createArchive(base);
    const zip = new AdmZip(outputPath);
    assert.equal(zip.getEntry('requirements.txt')!.header.attr >>> 16, 0o100600);
    assert.deepEqual(zip.getEntry('model.onnx')!.header.time, new Date(1980, 0, 1));
    assert.deepEqual(zip.getEntry('MAR-INF/MANIFEST.json')!.header.time, new Date(2025, 2, 17, 11, 20, 56)); // 2-second resolution
  });
});
