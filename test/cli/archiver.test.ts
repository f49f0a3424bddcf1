import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { main } from '../../src/cli/archiver.js';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function workDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ortserve-cli-test-'));
  dirs.push(dir);
  await fs.writeFile(path.join(dir, 'model.onnx'), 'weights');
  await fs.writeFile(path.join(dir, 'handler.js'), 'export function handle() {}');
  return dir;
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('ortserve-archiver arguments', () => {
  it('lists the missing required flags in argparse form and exits 2', async () => {
    const r = await run([]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^usage: ortserve-archiver \[-h\] --model-name MODEL_NAME/);
    assert.match(r.err, /ortserve-archiver: error: the following arguments are required: --model-name, --handler, -v\/--version\n$/);
    const some = await run(['--model-name', 'm', '--handler', 'h']);
    assert.match(some.err, /the following arguments are required: -v\/--version\n$/);
  });

  it('refuses invalid choices, unknown arguments, ambiguous prefixes and missing values with exit 2', async () => {
    const base = ['--model-name', 'm', '--handler', 'text_classifier', '-v', '1'];
    const cases: Array<[string[], RegExp]> = [
      [[...base, '--archive-format', 'rar'], /argument --archive-format: invalid choice: 'rar' \(choose from 'tgz', 'no-archive', 'zip-store', 'default'\)/],
      [[...base, '--runtime', 'java'], /argument --runtime: invalid choice: 'java'/],
      [[...base, 'stray'], /unrecognized arguments: stray/],
      [[...base, '--bogus'], /unrecognized arguments: --bogus/],
      [[...base, '--model', 'x'], /ambiguous option: --model could match --model-name, --model-file/],
      [['--model-name', '-v', '1', '--handler', 'h'], /argument --model-name: expected one argument/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, pattern);
    }
  });

  it('prints help and exits 0', async () => {
    const r = await run(['-h']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^usage: ortserve-archiver/);
    assert.match(r.out, /--archive-format \{tgz,no-archive,zip-store,default\}/);
  });
});

describe('ortserve-archiver output', () => {
  it('writes <name>.mar into the export path, creating it; accepts prefixes and attached values', async () => {
    const dir = await workDir();
    const exportPath = path.join(dir, 'store', 'deep');
    const r = await run([
      '--model-n', 'squeezenet',
      '-v1.0',
      '--handler=' + path.join(dir, 'handler.js'),
      '--serialized-file', path.join(dir, 'model.onnx'),
      '--export-path', exportPath,
    ]);
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    assert.deepEqual(await fs.readdir(exportPath), ['squeezenet.mar']);
  });

  it('writes the tgz and no-archive layouts', async () => {
    const dir = await workDir();
    const common = ['--model-name', 'm', '-v', '1', '--handler', 'text_classifier', '--serialized-file', path.join(dir, 'model.onnx'), '--export-path', dir];
    assert.equal((await run([...common, '--archive-format', 'tgz'])).code, 0);
    assert.equal((await run([...common, '--archive-format', 'no-archive'])).code, 0);
    assert.ok((await fs.stat(path.join(dir, 'm.tar.gz'))).isFile());
    assert.deepEqual((await fs.readdir(path.join(dir, 'm'))).sort(), ['MAR-INF', 'model.onnx']);
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'm', 'MAR-INF', 'MANIFEST.json'), 'utf8')) as { model: Record<string, string> };
    assert.deepEqual(manifest.model, { modelName: 'm', serializedFile: 'model.onnx', handler: 'text_classifier', modelVersion: '1' });
  });

  it('refuses to overwrite without -f (exit 1) and overwrites with it', async () => {
    const dir = await workDir();
    const argv = ['--model-name', 'm', '-v', '1', '--handler', path.join(dir, 'handler.js'), '--export-path', dir];
    assert.equal((await run(argv)).code, 0);
    const again = await run(argv);
    assert.equal(again.code, 1);
    assert.equal(
      again.err,
      `ERROR - ${path.join(dir, 'm.mar')} already exists.\nPlease specify --force/-f option to overwrite the model archive output file.\nSee -h/--help for more details.\n`,
    );
    const forced = await run([...argv, '-f']);
    assert.equal(forced.code, 0);
    assert.equal(forced.err, `WARNING - Overwriting ${path.join(dir, 'm.mar')} ...\n`);
  });

  it('reports a bad model name and a missing file with exit 1', async () => {
    const dir = await workDir();
    const bad = await run(['--model-name', 'bad name', '-v', '1', '--handler', 'text_classifier', '--export-path', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^ERROR - Model name contains special characters\./);
    const missing = await run(['--model-name', 'm', '-v', '1', '--handler', 'text_classifier', '--serialized-file', path.join(dir, 'x.onnx'), '--export-path', dir]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^ERROR - File does not exist: .*x\.onnx\n$/);
  });

  it('runs as a script with the shebang entry point', async () => {
    const dir = await workDir();
    const script = fileURLToPath(new URL('../../src/cli/archiver.js', import.meta.url));
    assert.match(await fs.readFile(script, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const exec = promisify(execFile);
    await exec(process.execPath, [script, '--model-name', 'cli', '-v', '1', '--handler', 'text_classifier', '--export-path', dir]);
    assert.ok((await fs.stat(path.join(dir, 'cli.mar'))).isFile());
    await assert.rejects(exec(process.execPath, [script]), (err: { code?: number }) => err.code === 2);
  });
});
