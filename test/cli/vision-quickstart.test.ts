/**
 * TorchServe's image-classifier quickstart (examples/image_classifier/densenet_161 of pytorch/serve),
 * command by command, with an ONNX file in place of the .pth and ortserve's commands in place of
 * torch-model-archiver and torchserve: the archiver, the server and curl run as processes. The model is
 * the small fixture classifier, which has densenet161's interface ([N, 3, 224, 224] → logits); only the
 * ports differ (port 0, so that tests never collide with a server on 8080).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from '../support/server.js';
import { readReference, VISION_FIXTURES, VISION_IMAGES } from '../support/vision.js';

const run = promisify(execFile);
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string): string => path.join(DIST, 'src', 'cli', `${name}.js`);

describe("TorchServe's quickstart with an ONNX file", () => {
  const dir = makeTempDir('ortserve-vision-quickstart-');
  const env = { ...process.env, TMPDIR: path.join(dir, 'tmp'), LOG_LOCATION: path.join(dir, 'logs') };
  mkdirSync(env.TMPDIR, { recursive: true });
  const cli = (name: string, args: string[]) => run(process.execPath, [bin(name), ...args], { cwd: dir, env, timeout: 60_000 });

  after(() => {
    spawnSync(process.execPath, [bin('ortserve'), '--stop'], { cwd: dir, env, timeout: 70_000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('archives with --handler image_classifier, starts, and answers curl -T kitten.jpg with the top-5 {label: probability}', async () => {
    const examples = path.join(dir, 'examples', 'image_classifier');
    mkdirSync(examples, { recursive: true });
    copyFileSync(path.join(VISION_FIXTURES, 'classifier.index_to_name.json'), path.join(examples, 'index_to_name.json'));
    copyFileSync(path.join(VISION_IMAGES, 'kitten.jpg'), path.join(examples, 'kitten.jpg'));
    copyFileSync(path.join(VISION_FIXTURES, 'classifier.onnx'), path.join(dir, 'densenet161.onnx'));
    writeFileSync(path.join(dir, 'config.properties'), 'inference_address=http://127.0.0.1:0\nmanagement_address=http://127.0.0.2:0\nmetrics_address=http://127.0.0.1:0\ngrpc_inference_port=0\ngrpc_management_port=0\n');

    // torch-model-archiver --model-name densenet161 --version 1.0 --model-file .../model.py
    //   --serialized-file densenet161-8d451a50.pth --handler image_classifier --extra-files .../index_to_name.json
    const archived = await cli('archiver', [
      '--model-name', 'densenet161', '--version', '1.0', '--serialized-file', 'densenet161.onnx',
      '--handler', 'image_classifier', '--extra-files', 'examples/image_classifier/index_to_name.json',
    ]);
    assert.equal(archived.stderr, '', 'no warning: nothing in the archive that ortserve cannot run');
    mkdirSync(path.join(dir, 'model_store'));
    renameSync(path.join(dir, 'densenet161.mar'), path.join(dir, 'model_store', 'densenet161.mar'));

    const start = await cli('ortserve', [
      '--start', '--model-store', 'model_store', '--models', 'densenet161=densenet161.mar', '--disable-token-auth', '--enable-model-api',
      '--ts-config', 'config.properties',
    ]);
    assert.match(start.stdout, /Model server started\./);
    const inference = /Inference API bound to (\S+)/.exec(start.stdout)?.[1];
    assert.ok(inference, start.stdout);

    const curl = await run('curl', ['-sS', `${inference}/predictions/densenet161`, '-T', 'examples/image_classifier/kitten.jpg'], { cwd: dir, timeout: 30_000 });
    const answer = JSON.parse(curl.stdout) as Record<string, number>;
    // The PyTorch pipeline's probabilities for kitten.jpg, ranked.
    const labels = ['red', 'green', 'blue', 'gray'];
    const expected = readReference().classifier['kitten.jpg']!.map((p, i) => [labels[i]!, p] as const).sort((a, b) => b[1] - a[1]);
    assert.deepEqual(Object.keys(answer), expected.map(([l]) => l));
    for (const [label, p] of expected) assert.ok(Math.abs(answer[label]! - p) < 1e-5, `${label}: ${answer[label]} vs ${p}`);

    const stop = await cli('ortserve', ['--stop']);
    assert.match(stop.stdout, /ortserve has stopped\./);
  });
});
