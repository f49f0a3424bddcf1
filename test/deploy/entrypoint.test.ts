/**
 * Issue 8: the container's entrypoint outside Docker. docker/entrypoint.mjs runs with the image's own
 * docker/config.properties (ORTSERVE_CONFIG, as the Dockerfile sets it) and a torchserve user's flags; only
 * the addresses differ, set through the TS_* variables that the file lets through (free loopback ports
 * here instead of 0.0.0.0:8080). Then the image's HEALTHCHECK script, a prediction with the key from
 * key_file.json, and SIGTERM: in-flight requests answered, exit 0.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parseServerArgs } from '../../src/cli/server-args.js';
import { makeTempDir } from '../support/server.js';
import { REPO } from '../../tools/deploy/validate.js';
import { freePort } from '../../tools/lib/free-port.js';

const ENTRYPOINT = path.join(REPO, 'docker', 'entrypoint.mjs');
const HEALTHCHECK = path.join(REPO, 'docker', 'healthcheck.mjs');

type ContainerArgs = (argv: string[], env?: NodeJS.ProcessEnv) => string[];

describe('docker/entrypoint.mjs: torchserve flags to ortserve', () => {
  let containerArgs: ContainerArgs;
  before(async () => {
    containerArgs = ((await import(pathToFileURL(ENTRYPOINT).href)) as { containerArgs: ContainerArgs }).containerArgs;
  });
  const cfg = '/home/model-server/config.properties';

  it('maps the image default, torchserve lines and client commands', () => {
    assert.deepEqual(containerArgs(['serve'], {}), ['--start', '--foreground', '--ts-config', cfg]);
    assert.deepEqual(containerArgs([], {}), ['--start', '--foreground', '--ts-config', cfg]);
    assert.deepEqual(containerArgs(['torchserve', '--start', '--ncs', '--model-store', 'model-store', '--models', 'a=a.mar'], {}), [
      '--start', '--ncs', '--model-store', 'model-store', '--models', 'a=a.mar', '--foreground', '--ts-config', cfg,
    ]);
    assert.deepEqual(containerArgs(['--ts-config=/mnt/models/config/config.properties', '--foreground'], {}), [
      '--start', '--ts-config=/mnt/models/config/config.properties', '--foreground',
    ]);
    assert.deepEqual(containerArgs(['--start'], { TS_CONFIG_FILE: '/x.properties' }), ['--start', '--foreground']);
    assert.deepEqual(containerArgs(['evaluate', 'data.csv', '-m', 'taxonomy'], {}), ['evaluate', 'data.csv', '-m', 'taxonomy']);
    assert.deepEqual(containerArgs(['ortserve', '--version'], {}), ['--version']);
  });

  it("takes the README's docker run line (Deploy) as ortserve's own flags", () => {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const deploy = readme.slice(readme.indexOf('## Deploy'), readme.indexOf('## Writing a handler'));
    const block = /```sh\n(docker build[\s\S]*?)```/.exec(deploy)?.[1];
    assert.ok(block, 'the runnable docker block');
    const words = block.replace(/\\\n/g, ' ').split('\n').find((l) => l.startsWith('docker run'))!.trim().split(/\s+/);
    const afterImage = words.slice(words.indexOf('ortserve') + 1);
    const args = parseServerArgs(containerArgs(afterImage, {}));
    assert.equal(args.start, true);
    assert.equal(args.foreground, true);
    assert.equal(args.noConfigSnapshots, true);
    assert.equal(args.modelStore, '/home/model-server/model-store');
    assert.deepEqual(args.models, ['taxonomy=taxonomy.mar']);
    assert.equal(args.tsConfig, cfg);
    // The same line is what the container test below starts (with the repository's model store).
    assert.deepEqual(afterImage.slice(0, 3), ['torchserve', '--start', '--ncs']);
  });
});

describe('docker/entrypoint.mjs: the container, outside Docker', () => {
  const dir = makeTempDir('ortserve-entrypoint-');
  let server: ChildProcess;
  let output = '';
  let inference = '';
  let exited: Promise<number | null>;
  const env: NodeJS.ProcessEnv = { ...process.env };

  before(async () => {
    const [http, mgmt, metrics] = [await freePort(), await freePort(), await freePort()];
    inference = `http://127.0.0.1:${http}`;
    Object.assign(env, {
      ORTSERVE_CONFIG: path.join(REPO, 'docker', 'config.properties'),
      TS_INFERENCE_ADDRESS: inference,
      TS_MANAGEMENT_ADDRESS: `http://127.0.0.1:${mgmt}`,
      TS_METRICS_ADDRESS: `http://127.0.0.1:${metrics}`,
      TS_GRPC_INFERENCE_ADDRESS: '127.0.0.1',
      TS_GRPC_MANAGEMENT_ADDRESS: '127.0.0.1',
      TS_GRPC_INFERENCE_PORT: '0',
      TS_GRPC_MANAGEMENT_PORT: '0',
      LOG_LOCATION: path.join(dir, 'logs'),
      TMPDIR: path.join(dir, 'tmp'),
    });
    delete env.TS_CONFIG_FILE;
    mkdirSync(env.TMPDIR!, { recursive: true });
    // A torchserve user's `docker run … pytorch/torchserve torchserve --start --model-store … --models …`.
    server = spawn(
      process.execPath,
      [ENTRYPOINT, 'torchserve', '--start', '--ncs', '--model-store', path.join(REPO, 'model-store'), '--models', 'taxonomy=taxonomy.mar'],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((r) => server.once('exit', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    while (!output.includes('Model server started.')) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`ortserve did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('started ortserve in the foreground with the image config', () => {
    assert.match(output, /^ortserve --start --ncs --model-store \S+ --models taxonomy=taxonomy\.mar --foreground --ts-config \S+docker\/config\.properties$/m);
    assert.ok(existsSync(path.join(dir, 'key_file.json')), 'token authorization is on: key_file.json in the working directory');
  });

  it('answers /ping only with the inference key; the HEALTHCHECK script reads it from key_file.json', async () => {
    assert.equal((await fetch(`${inference}/ping`)).status, 400);
    const hc = spawnSync(process.execPath, [HEALTHCHECK], { cwd: dir, env: { ...env, ORTSERVE_PING_URL: `${inference}/ping` }, encoding: 'utf8' });
    assert.equal(hc.status, 0, hc.stdout);
    const elsewhere = spawnSync(process.execPath, [HEALTHCHECK], { cwd: env.TMPDIR, env: { ...env, ORTSERVE_PING_URL: `${inference}/ping` }, encoding: 'utf8' });
    assert.equal(elsewhere.status, 1, 'without the key the check fails');
  });

  it('predicts the taxonomy, then drains on SIGTERM and exits 0', async () => {
    const key = (JSON.parse(readFileSync(path.join(dir, 'key_file.json'), 'utf8')) as { inference: { key: string } }).inference.key;
    const sample = readFileSync(path.join(REPO, 'examples', 'taxonomy', 'sample.txt'));
    const predict = (): Promise<Response> =>
      fetch(`${inference}/predictions/taxonomy`, { method: 'PUT', body: sample, headers: { authorization: `Bearer ${key}` } });
    const first = await predict();
    assert.equal(first.status, 200);
    // The labels the README shows for examples/taxonomy/sample.txt (the bundled model misfiles the night walk).
    assert.deepEqual(await first.json(), ['music', 'sports', 'festivals_nightlife']);

    const inFlight = Array.from({ length: 8 }, () => predict());
    await new Promise((r) => setTimeout(r, 5));
    server.kill('SIGTERM');
    const answers = await Promise.all(inFlight.map((p) => p.then((r) => r.status, () => 'refused')));
    // Requests that reached the server before SIGTERM are answered; later ones may find it closed.
    assert.ok(answers.every((s) => s === 200 || s === 'refused'), String(answers));
    assert.equal(await exited, 0, output);
    assert.match(output, /ortserve has stopped\./);
    assert.ok(!existsSync(path.join(dir, 'key_file.json')), 'the key file is removed on shutdown');
  });
});
