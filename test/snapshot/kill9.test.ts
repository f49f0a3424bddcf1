/**
 * kill -9 of the server in the middle of a register, a scale and an unregister (issue 6). After a
 * restart on the same directory with the same command line, the server starts and answers, and every
 * model is either fully there with the workers its snapshot says, or absent; the model store is as it
 * was, and the same archives can be registered again. test/snapshot/restart.test.ts covers kill -9
 * between completed operations and while snapshots are written; this file kills during the operations.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { writeFixtureMar } from '../support/archives.js';
import { auth, cleanupAll, makeCliEnv, request, startForeground, type CliEnv, type ForegroundServer } from '../support/cli.js';

after(cleanupAll);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function writeFaultsMar(modelStore: string, name: string, yaml?: string): void {
  writeFixtureMar(modelStore, 'faults.ts', name, yaml);
}

/** Model → worker count, after checking that each version is whole: as many READY workers as minWorkers. */
async function consistentState(e: CliEnv, s: ForegroundServer): Promise<Record<string, number>> {
  const headers = auth(e, 'management');
  const list = await request(`${s.managementUrl}/models`, { headers });
  assert.equal(list.status, 200, list.text);
  const state: Record<string, number> = {};
  for (const { modelName } of list.json<{ models: Array<{ modelName: string }> }>().models) {
    const all = await request(`${s.managementUrl}/models/${modelName}/all`, { headers });
    assert.equal(all.status, 200, all.text);
    type D = { modelVersion: string; minWorkers: number; workers: Array<{ status: string }> };
    const versions = all.json<D[]>();
    assert.equal(versions.length, 1, `${modelName}: one version`);
    const v = versions[0]!;
    assert.equal(v.workers.length, v.minWorkers, `${modelName}: ${v.workers.length} workers for minWorkers ${v.minWorkers}`);
    assert.ok(
      v.workers.every((w) => w.status === 'READY'),
      `${modelName}: every worker READY`,
    );
    state[modelName] = v.workers.length;
  }
  return state;
}

async function predicts(e: CliEnv, s: ForegroundServer, model: string): Promise<void> {
  const r = await request(`${s.inferenceUrl}/predictions/${model}`, { method: 'POST', headers: auth(e, 'inference'), body: 'x' });
  assert.equal(r.status, 200, `${model}: ${r.text}`);
}

/** No unhandled rejection or uncaught exception was printed by the server. */
function noUnhandled(s: ForegroundServer): void {
  assert.doesNotMatch(s.output(), /unhandled ?rejection|uncaught ?exception|ERR_UNHANDLED_REJECTION/i, s.output());
}

/** Fires a request whose answer will never come (the server is killed): its failure is expected. */
function doomed(p: Promise<unknown>): void {
  p.catch(() => undefined);
}

describe('kill -9 during management operations', { timeout: 60_000 }, () => {
  const e = makeCliEnv({ model_store: 'model-store' });
  writeFaultsMar(e.modelStore, 'base');
  writeFaultsMar(e.modelStore, 'slowreg', 'faults:\n  loadDelayMs: 4000\n');
  writeFaultsMar(e.modelStore, 'sc', 'faults:\n  loadDelayMs: 1500\n');
  writeFaultsMar(e.modelStore, 'busy');
  const store = readdirSync(e.modelStore).sort();
  const COMMAND = ['--start', '--foreground', '--model-store', 'model-store', '--ts-config', 'config.properties', '--enable-model-api'];
  const m = () => server.managementUrl;
  const headers = () => auth(e, 'management');
  let server: ForegroundServer;

  async function restart(): Promise<void> {
    await server.kill9();
    noUnhandled(server);
    assert.deepEqual(readdirSync(e.modelStore).sort(), store, 'the model store is untouched');
    server = await startForeground(e, COMMAND);
  }

  it('during a register (the worker is loading): the model is absent after the restart, and can be registered again', async () => {
    server = await startForeground(e, COMMAND);
    assert.equal((await request(`${m()}/models?url=base.mar&initial_workers=1`, { method: 'POST', headers: headers() })).status, 200);
    doomed(request(`${m()}/models?url=slowreg.mar&initial_workers=1&synchronous=true`, { method: 'POST', headers: headers() }));
    await sleep(1500); // extracted, compiled, the worker is loading
    const d = await request(`${m()}/models/slowreg`, { headers: headers() });
    assert.equal(d.status, 200, 'registered, workers still loading');
    await restart();
    assert.deepEqual(await consistentState(e, server), { base: 1 });
    await predicts(e, server, 'base');
    const again = await request(`${m()}/models?url=slowreg.mar&initial_workers=1&synchronous=true`, { method: 'POST', headers: headers() });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(await consistentState(e, server), { base: 1, slowreg: 1 });
    noUnhandled(server);
  });

  it('during a synchronous scale-up: the model comes back whole, with the old or the new worker count', async () => {
    assert.equal((await request(`${m()}/models?url=sc.mar&initial_workers=1`, { method: 'POST', headers: headers() })).status, 200);
    doomed(request(`${m()}/models/sc?min_worker=2&synchronous=true`, { method: 'PUT', headers: headers() }));
    await sleep(500); // the second worker is loading
    await restart();
    const state = await consistentState(e, server);
    assert.ok(state.sc === 1 || state.sc === 2, `sc has ${state.sc} workers`);
    assert.deepEqual({ ...state, sc: 0 }, { base: 1, slowreg: 1, sc: 0 });
    await predicts(e, server, 'sc');
  });

  it('right after an asynchronous scale (202): the new worker count is restored', async () => {
    const r = await request(`${m()}/models/sc?min_worker=3&synchronous=false`, { method: 'PUT', headers: headers() });
    assert.equal(r.status, 202, r.text);
    await sleep(200); // the new workers are still loading
    await restart();
    assert.deepEqual(await consistentState(e, server), { base: 1, slowreg: 1, sc: 3 });
  });

  it('during an unregister (waiting for a busy worker): the model is absent after the restart, and can be registered again', async () => {
    assert.equal((await request(`${m()}/models?url=busy.mar&initial_workers=1`, { method: 'POST', headers: headers() })).status, 200);
    doomed(request(`${server.inferenceUrl}/predictions/busy`, { method: 'POST', headers: { ...auth(e, 'inference'), 'Content-Type': 'application/json' }, body: '{"action":"sleep","ms":10000}' }));
    await sleep(300);
    doomed(request(`${m()}/models/busy`, { method: 'DELETE', headers: headers() }));
    await sleep(500); // unregistered, the busy worker not stopped yet
    await restart();
    assert.deepEqual(await consistentState(e, server), { base: 1, slowreg: 1, sc: 3 });
    assert.equal((await request(`${m()}/models/busy`, { headers: headers() })).status, 404);
    const again = await request(`${m()}/models?url=busy.mar&initial_workers=1&synchronous=true`, { method: 'POST', headers: headers() });
    assert.equal(again.status, 200, again.text);
    await predicts(e, server, 'busy');
  });

  it('stops cleanly afterwards (SIGTERM → exit 0), with no unhandled rejection and nothing left in TEMP', async () => {
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null }, server.output());
    noUnhandled(server);
    // The killed runs' extraction and compile directories were swept by the next start; the clean stop
    // removed its own.
    const left = (d: string): number => {
      try {
        return readdirSync(path.join(e.temp, d)).length;
      } catch {
        return 0;
      }
    };
    assert.deepEqual({ models: left('ortserve-models'), work: left('ortserve-work') }, { models: 0, work: 0 });
  });
});
