/**
 * The README's "Coming from TorchServe" commands, run as a user runs them: the archiver and the server
 * as processes, curl for the prediction. Only the ports differ (port 0 here, so that tests never
 * collide with a server on 8080).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from '../support/server.js';

const run = promisify(execFile);
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string): string => path.join(DIST, 'src', 'cli', `${name}.js`);
const modelgen = path.join(DIST, 'tools', 'modelgen', 'cli.js');

describe('README: Coming from TorchServe', () => {
  const dir = makeTempDir('ortserve-readme-');
  const env = { ...process.env, TMPDIR: path.join(dir, 'tmp'), LOG_LOCATION: path.join(dir, 'logs') };
  mkdirSync(env.TMPDIR, { recursive: true });
  const cli = (file: string, args: string[]) => run(process.execPath, [file, ...args], { cwd: dir, env, timeout: 60_000 });

  after(() => {
    spawnSync(process.execPath, [bin('ortserve'), '--stop'], { cwd: dir, env, timeout: 70_000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('archives, starts, predicts with curl -T and stops', async () => {
    await cli(modelgen, ['--preset', 'tiny', '--out', dir, '--labels', 'music,sports,theatre']);
    writeFileSync(
      path.join(dir, 'config.properties'),
      'inference_address=http://127.0.0.1:0\nmanagement_address=http://127.0.0.2:0\nmetrics_address=http://127.0.0.1:0\ngrpc_inference_port=0\ngrpc_management_port=0\n',
    );
    writeFileSync(path.join(dir, 'sample.txt'), 'Jazz concert tonight at the old theatre, tickets 20 euros\n');

    await cli(bin('archiver'), [
      '--model-name', 'clf', '--version', '1.0', '--serialized-file', 'model.onnx', '--handler', 'text_classifier',
      '--extra-files', 'tokenizer.json,config.json', '--export-path', 'model_store',
    ]);

    const start = await cli(bin('ortserve'), ['--start', '--model-store', 'model_store', '--models', 'clf=clf.mar', '--ts-config', 'config.properties']);
    assert.match(start.stdout, /Model server started\./);
    const inference = /Inference API bound to (\S+)/.exec(start.stdout)?.[1];
    assert.ok(inference, start.stdout);

    const key = (JSON.parse(readFileSync(path.join(dir, 'key_file.json'), 'utf8')) as { inference: { key: string } }).inference.key;
    const curl = await run('curl', ['-sS', '-H', `Authorization: Bearer ${key}`, `${inference}/predictions/clf`, '-T', 'sample.txt'], {
      cwd: dir,
      timeout: 30_000,
    });
    assert.ok(['music', 'sports', 'theatre'].includes(curl.stdout), `a label, got ${JSON.stringify(curl.stdout)}`);

    const stop = await cli(bin('ortserve'), ['--stop']);
    assert.match(stop.stdout, /ortserve has stopped\./);
  });
});

describe('README: the taxonomy classifier', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const dir = makeTempDir('ortserve-readme-taxonomy-');

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("serves model-store/ as npm start does, and the README's curl prints a taxonomy per line of sample.txt", async () => {
    // npm start's command and config.properties, with free ports instead of 8080-8082.
    const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    // `exec node …`: npm start execs node so that signals reach the server (test/cli/npm-start.test.ts).
    const args = start.replace(/^exec /, '').split(' ').slice(1);
    const config = readFileSync(path.join(root, 'config.properties'), 'utf8')
      .replace(/(_address=http:\/\/127\.0\.0\.1):\d+/g, '$1:0')
      .replace(/^model_store=.*$/m, `model_store=${path.join(root, 'model-store')}`);
    writeFileSync(path.join(dir, 'config.properties'), config);
    mkdirSync(path.join(dir, 'examples', 'taxonomy'), { recursive: true });
    writeFileSync(path.join(dir, 'examples', 'taxonomy', 'sample.txt'), readFileSync(path.join(root, 'examples', 'taxonomy', 'sample.txt')));

    const server = spawn(process.execPath, [path.join(root, args[0]!), ...args.slice(1)], {
      cwd: dir,
      env: { ...process.env, LOG_LOCATION: path.join(dir, 'logs') },
    });
    try {
      let out = '';
      const inference = await new Promise<string>((resolve, reject) => {
        server.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /Inference API bound to (\S+)[\s\S]*Model server started\./.exec(out);
          if (m) resolve(m[1]!);
        });
        server.once('exit', (code) => reject(new Error(`the server exited (${code}): ${out}`)));
      });
      const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
      const curl = /^curl .*\/predictions\/taxonomy -T examples\/taxonomy\/sample\.txt$/m.exec(readme)?.[0];
      assert.ok(curl, 'the README has the taxonomy curl command');
      const { stdout } = await run('bash', ['-c', curl.replace('http://127.0.0.1:8080', inference)], { cwd: dir, timeout: 30_000 });
      const labels = JSON.parse(stdout) as string[];
      const lines = readFileSync(path.join(dir, 'examples', 'taxonomy', 'sample.txt'), 'utf8').trim().split('\n');
      assert.equal(labels.length, lines.length);
      const taxonomies = ['exhibitions_museums', 'family_kids', 'festivals_nightlife', 'food_drink', 'music', 'performing_arts', 'sports', 'tours_outdoors'];
      for (const l of labels) assert.ok(taxonomies.includes(l), l);
    } finally {
      // Wait for the exit: the server writes its shutdown snapshot into the directory the hook removes.
      const exited = server.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => server.once('exit', () => resolve()));
      server.kill('SIGTERM');
      await exited;
    }
  });
});
