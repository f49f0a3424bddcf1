/**
 * ortserve-archiver warns about what ortserve cannot run (a Python handler, PyTorch weights, a
 * TorchServe built-in handler that ortserve lacks, a requirements file), and with --strict fails
 * without writing the archive.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/archiver.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))));

async function workDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ortserve-archiver-warn-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries({ 'model.onnx': 'onnx', 'model.pt': 'pt', 'handler.py': 'def handle(d, c): pass\n', 'requirements.txt': 'torch\n' })) {
    await fs.writeFile(path.join(dir, name), text);
  }
  return dir;
}

async function run(dir: string, args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await main(['--model-name', 'm', '-v', '1.0', '--export-path', dir, ...args], { out: () => undefined, err: (t) => (err += t) });
  return { code, err };
}

describe('ortserve-archiver warnings', () => {
  const cases: Array<[string, (d: string) => string[], RegExp]> = [
    ['a Python handler', (d) => ['--handler', path.join(d, 'handler.py'), '--serialized-file', path.join(d, 'model.onnx')], /WARNING - The handler handler\.py is a Python file: ortserve runs handlers written in TypeScript or JavaScript, or its built-in handlers \(text_classifier, image_classifier, object_detector, image_segmenter\); see docs\/migrating-from-torchserve\.md/],
    ['PyTorch weights', (d) => ['--handler', 'image_classifier', '--serialized-file', path.join(d, 'model.pt')], /WARNING - model\.pt is a PyTorch weights file: ortserve runs ONNX models\. Export the model with torch\.onnx\.export/],
    ['a TorchServe built-in ortserve lacks', (d) => ['--handler', 'base_handler', '--serialized-file', path.join(d, 'model.onnx')], /WARNING - The handler "base_handler" is not one of ortserve's built-in handlers/],
    ['a requirements file', (d) => ['--handler', 'image_classifier', '--serialized-file', path.join(d, 'model.onnx'), '-r', path.join(d, 'requirements.txt')], /WARNING - ortserve installs no Python packages: requirements\.txt will be packed but not used/],
  ];

  for (const [what, args, warning] of cases) {
    it(`warns about ${what}, still writes the archive, and with --strict fails without writing it`, async () => {
      const dir = await workDir();
      const loose = await run(dir, args(dir));
      assert.equal(loose.code, 0, loose.err);
      assert.match(loose.err, warning);
      assert.equal(loose.err.match(/WARNING/g)?.length, 1, `one warning: ${loose.err}`);
      assert.ok(existsSync(path.join(dir, 'm.mar')));
      await fs.rm(path.join(dir, 'm.mar'));
      const strict = await run(dir, [...args(dir), '--strict']);
      assert.equal(strict.code, 1);
      assert.match(strict.err, warning);
      assert.match(strict.err, /ERROR - --strict: the archive holds what ortserve cannot run \(1 warning above\)/);
      assert.ok(!existsSync(path.join(dir, 'm.mar')), 'no archive is written');
    });
  }

  it('is silent about an ONNX model with a built-in handler, even with --strict', async () => {
    const dir = await workDir();
    for (const handler of ['image_classifier', 'object_detector', 'image_segmenter', 'text_classifier']) {
      const r = await run(dir, ['--handler', handler, '--serialized-file', path.join(dir, 'model.onnx'), '--strict']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      await fs.rm(path.join(dir, 'm.mar'));
    }
  });
});
