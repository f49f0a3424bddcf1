/**
 * Issue 8: the KServe runtime's container outside KServe. docker/entrypoint.mjs runs with the args and env
 * of deploy/kserve/cluster-serving-runtime.yaml plus each InferenceService's model env, a model store laid
 * out as the storage initializer leaves it (/mnt/models/model-store/taxonomy.mar), and the image's config
 * file; only the addresses move to free loopback ports. Then the runtime's readiness probe path and the
 * request each InferenceService's comment documents.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { makeTempDir } from '../support/server.js';
import { REPO } from '../../tools/deploy/validate.js';
import { freePort } from '../../tools/lib/free-port.js';

interface EnvVar {
  name: string;
  value: string;
}

const read = (file: string): Record<string, any> => parse(readFileSync(path.join(REPO, file), 'utf8')); // eslint-disable-line @typescript-eslint/no-explicit-any


describe('deploy/kserve: the runtime container serves the InferenceService examples', () => {
  const dir = makeTempDir('ortserve-kserve-');
  const mnt = path.join(dir, 'mnt', 'models');
  mkdirSync(path.join(mnt, 'model-store'), { recursive: true });
  copyFileSync(path.join(REPO, 'model-store', 'taxonomy.mar'), path.join(mnt, 'model-store', 'taxonomy.mar'));
  const runtime = read('deploy/kserve/cluster-serving-runtime.yaml').spec.containers[0];
  const running: ChildProcess[] = [];

  after(() => {
    for (const p of running) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  type Runtime = { url: string; stop: () => Promise<number | null> };

  // A port free a moment ago may be taken by another process before the runtime binds it (the two examples
  // start side by side, and CI runs other servers): then it starts again on other free ports.
  async function start(isvcFile: string): Promise<Runtime> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce(isvcFile);
      } catch (err) {
        if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err;
      }
    }
  }

  async function startOnce(isvcFile: string): Promise<Runtime> {
    const model = read(isvcFile).spec.predictor.model;
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: path.join(dir, 'tmp'), LOG_LOCATION: path.join(dir, 'logs', isvcFile) };
    delete env.TS_CONFIG_FILE;
    for (const e of [...(runtime.env as EnvVar[]), ...((model.env ?? []) as EnvVar[])]) env[e.name] = e.value;
    Object.assign(env, {
      TS_INFERENCE_ADDRESS: `http://127.0.0.1:${port}`,
      TS_METRICS_ADDRESS: `http://127.0.0.1:${await freePort()}`,
      TS_MANAGEMENT_ADDRESS: `http://127.0.0.1:${await freePort()}`,
      TS_GRPC_INFERENCE_ADDRESS: '127.0.0.1',
      TS_GRPC_INFERENCE_PORT: '0',
      TS_GRPC_MANAGEMENT_PORT: '0',
    });
    mkdirSync(env.TMPDIR!, { recursive: true });
    const args = (runtime.args as string[]).map((a) =>
      a.replace('/mnt/models', mnt).replace('/home/model-server/config.properties', path.join(REPO, 'docker', 'config.properties')),
    );
    const p = spawn(process.execPath, [path.join(REPO, 'docker', 'entrypoint.mjs'), ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(p);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => p.once('exit', r));
    const deadline = Date.now() + 60_000;
    while (!out.includes('Model server started.')) {
      if (p.exitCode !== null || Date.now() > deadline) throw new Error(`the runtime did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      url: `http://127.0.0.1:${port}`,
      stop: () => {
        p.kill('SIGTERM');
        return exited;
      },
    };
  }

  const json = { 'content-type': 'application/json' };

  it('v1: ready on the probe path, {"instances": [{"data": …}]} → {"predictions": ["music"]}', async () => {
    const s = await start('deploy/kserve/inferenceservice-v1.yaml');
    assert.equal((await fetch(s.url + runtime.readinessProbe.httpGet.path)).status, 200, 'no token needed: auth is off in the runtime');
    const res = await fetch(`${s.url}/v1/models/taxonomy:predict`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ instances: [{ data: 'Jazz quartet live at the Blue Note, doors 20:00' }] }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { predictions: ['music'] });
    assert.equal(await s.stop(), 0);
  });

  it('v2: Open Inference Protocol infer → label music', async () => {
    const s = await start('deploy/kserve/inferenceservice-v2.yaml');
    const res = await fetch(`${s.url}/v2/models/taxonomy/infer`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: ['Jazz quartet live at the Blue Note'] }] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { outputs: Array<{ name: string; data: unknown[] }> };
    assert.deepEqual(body.outputs.find((o) => o.name === 'label')?.data, ['music']);
    assert.equal(await s.stop(), 0);
  });
});
