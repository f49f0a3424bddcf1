/**
 * Done when: a registered model and its worker count survive `kill -9` of the server and a restart
 * (spec §5.1). Real `ortserve --start --foreground` processes, killed with SIGKILL and restarted with
 * the same command line.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findLatestSnapshot } from '../../src/config/load-config.js';
import { parseProperties } from '../../src/config/properties.js';
import { KEEP_SNAPSHOTS, parseModelSnapshot, type ModelSnapshot } from '../../src/snapshot/snapshot-manager.js';
import { writeProbeMar } from '../support/archives.js';
import { auth, cleanupAll, makeCliEnv, request, startForeground, type CliEnv, type ForegroundServer } from '../support/cli.js';

after(cleanupAll);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface VersionState {
  version: string;
  minWorkers: number;
  maxWorkers: number;
  workers: number;
}
type State = Record<string, { defaultVersion: string; versions: VersionState[] }>;

/** What the management API says about every model: versions, worker counts, default version. */
async function modelState(e: CliEnv, s: ForegroundServer): Promise<State> {
  const headers = auth(e, 'management');
  const list = await request(`${s.managementUrl}/models`, { headers });
  assert.equal(list.status, 200, list.text);
  const state: State = {};
  for (const { modelName } of list.json<{ models: Array<{ modelName: string }> }>().models) {
    const all = await request(`${s.managementUrl}/models/${modelName}/all`, { headers });
    const def = await request(`${s.managementUrl}/models/${modelName}`, { headers });
    type D = { modelVersion: string; minWorkers: number; maxWorkers: number; workers: unknown[] };
    state[modelName] = {
      defaultVersion: def.json<D[]>()[0]!.modelVersion,
      versions: all
        .json<D[]>()
        .map((d) => ({ version: d.modelVersion, minWorkers: d.minWorkers, maxWorkers: d.maxWorkers, workers: d.workers.length }))
        .sort((a, b) => a.version.localeCompare(b.version)),
    };
  }
  return state;
}

async function ok(p: Promise<{ status: number; text: string }>, status = 200): Promise<void> {
  const r = await p;
  assert.equal(r.status, status, r.text);
}

function snapshotFiles(e: CliEnv): string[] {
  try {
    return readdirSync(path.join(e.logs, 'config')).sort();
  } catch {
    return [];
  }
}

describe('a snapshot survives kill -9 and a restart with the same command line', () => {
  const e = makeCliEnv({ model_store: 'model-store' });
  writeProbeMar(e.modelStore, { name: 'a' });
  writeProbeMar(e.modelStore, { name: 'b', version: '1.0', fileName: 'b1.mar' });
  writeProbeMar(e.modelStore, { name: 'b', version: '2.0', fileName: 'b2.mar' });
  writeProbeMar(e.modelStore, { name: 'c' });
  // --ts-config too: TorchServe would then ignore the snapshots; ortserve restores anyway.
  const COMMAND = ['--start', '--foreground', '--model-store', 'model-store', '--ts-config', 'config.properties', '--enable-model-api', '--models', 'c=c.mar'];
  const EXPECTED: State = {
    a: { defaultVersion: '1.0', versions: [{ version: '1.0', minWorkers: 2, maxWorkers: 2, workers: 2 }] },
    b: {
      defaultVersion: '2.0',
      versions: [
        { version: '1.0', minWorkers: 1, maxWorkers: 1, workers: 1 },
        { version: '2.0', minWorkers: 1, maxWorkers: 1, workers: 1 },
      ],
    },
  };
  let server: ForegroundServer;

  it('registers, scales, sets a default and unregisters through the management API, then is killed with SIGKILL', async () => {
    server = await startForeground(e, COMMAND);
    const m = server.managementUrl;
    const headers = auth(e, 'management');
    assert.deepEqual(Object.keys(await modelState(e, server)), ['c'], 'c comes from --models');
    await ok(request(`${m}/models?url=a.mar&initial_workers=1`, { method: 'POST', headers }));
    await ok(request(`${m}/models/a?min_worker=2&synchronous=true`, { method: 'PUT', headers }));
    await ok(request(`${m}/models?url=b1.mar&initial_workers=1`, { method: 'POST', headers }));
    await ok(request(`${m}/models?url=b2.mar&initial_workers=1`, { method: 'POST', headers }));
    await ok(request(`${m}/models/b/2.0/set-default`, { method: 'PUT', headers }));
    await ok(request(`${m}/models/c`, { method: 'DELETE', headers }));
    assert.deepEqual(await modelState(e, server), EXPECTED);
    await server.kill9();
    assert.equal((await server.exited).signal, 'SIGKILL');
  });

  it('restores the same models, versions, default version and worker counts; predictions work', async () => {
    server = await startForeground(e, COMMAND);
    assert.deepEqual(await modelState(e, server), EXPECTED, server.output());
    const headers = auth(e, 'inference');
    for (const p of ['a', 'b', 'b/1.0', 'b/2.0']) {
      const r = await request(`${server.inferenceUrl}/predictions/${p}`, { method: 'POST', headers, body: `to ${p}` });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, `to ${p}`);
    }
    // c was unregistered: it stays gone although --models names it.
    const c = await request(`${server.managementUrl}/models/c`, { headers: auth(e, 'management') });
    assert.equal(c.status, 404, c.text);
    assert.match(server.output(), /Restored model a version 1\.0 with 2 workers/);
  });

  it('skips a model whose archive left the model store, with a message, and loads the others', async () => {
    await server.kill9();
    rmSync(path.join(e.modelStore, 'b1.mar'));
    server = await startForeground(e, COMMAND);
    assert.match(server.output(), /Model archive file for model :b, version :1\.0 not found in model store/);
    assert.deepEqual(await modelState(e, server), {
      a: EXPECTED.a!,
      b: { defaultVersion: '2.0', versions: [{ version: '2.0', minWorkers: 1, maxWorkers: 1, workers: 1 }] },
    });
    const r = await request(`${server.inferenceUrl}/predictions/b`, { method: 'POST', headers: auth(e, 'inference'), body: 'b' });
    assert.equal(r.status, 200, r.text);
  });

  it('--ncs neither restores nor writes snapshots', async () => {
    await server.kill9();
    const before = snapshotFiles(e);
    assert.ok(before.length > 0);
    server = await startForeground(e, [...COMMAND, '--ncs']);
    // Without a snapshot, --models applies.
    assert.deepEqual(await modelState(e, server), { c: { defaultVersion: '1.0', versions: [{ version: '1.0', minWorkers: 1, maxWorkers: 1, workers: 1 }] } });
    await ok(request(`${server.managementUrl}/models/c?min_worker=2&synchronous=true`, { method: 'PUT', headers: auth(e, 'management') }));
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null }, server.output());
    assert.deepEqual(snapshotFiles(e), before);
  });
});

describe('snapshot files are never partial', () => {
  // A large property makes every snapshot file big, so that a kill has a fair chance to land mid-write.
  const e = makeCliEnv({ model_store: 'model-store', filler: 'x'.repeat(64 * 1024) });
  writeProbeMar(e.modelStore, { name: 'm', version: '1.0', fileName: 'm1.mar' });
  writeProbeMar(e.modelStore, { name: 'm', version: '2.0', fileName: 'm2.mar' });
  const COMMAND = ['--start', '--foreground', '--model-store', 'model-store', '--ts-config', 'config.properties', '--enable-model-api', '--dt'];

  function checkSnapshots(): ModelSnapshot {
    const dir = path.join(e.logs, 'config');
    const files = readdirSync(dir).filter((f) => !f.startsWith('.'));
    assert.ok(files.length > 0 && files.length <= KEEP_SNAPSHOTS, `${files.length} snapshot files`);
    for (const f of files) {
      assert.match(f, /^\d{17}-(startup|snapshot|shutdown)\.cfg$/);
      const props = parseProperties(readFileSync(path.join(dir, f), 'utf8'));
      assert.equal(props.get('filler')?.length, 64 * 1024, `${f} is complete`);
      const snap = parseModelSnapshot(props.get('model_snapshot') ?? null);
      assert.ok(snap, `${f} has a valid model_snapshot`);
      assert.equal(snap.name, f);
    }
    const latest = findLatestSnapshot(e.logs)!;
    return parseModelSnapshot(parseProperties(readFileSync(latest, 'utf8')).get('model_snapshot')!)!;
  }

  it('survives kill -9 at random moments while snapshots are written in a loop; at most 20 are kept', async () => {
    let writes = 0;
    for (let round = 0; round < 3; round++) {
      const server = await startForeground(e, COMMAND);
      const m = server.managementUrl;
      if (round === 0) {
        await ok(request(`${m}/models?url=m1.mar&initial_workers=0`, { method: 'POST' }));
        await ok(request(`${m}/models?url=m2.mar&initial_workers=0`, { method: 'POST' }));
      } else {
        // The restart restored the default version of the newest complete snapshot.
        const expected = Object.entries(checkSnapshots().models.m!).find(([, v]) => v.defaultVersion)![0];
        const d = await request(`${m}/models/m`);
        assert.equal(d.json<Array<{ modelVersion: string }>>()[0]!.modelVersion, expected);
      }
      let killed = false;
      const spam = async (): Promise<void> => {
        for (let i = 0; !killed; i++) {
          try {
            const r = await request(`${m}/models/m/${i % 2 === 0 ? '2.0' : '1.0'}/set-default`, { method: 'PUT' });
            if (r.status === 200) writes++;
          } catch {
            return; // the server is gone
          }
        }
      };
      const loops = [spam(), spam(), spam()];
      await sleep(150 + Math.random() * 350);
      killed = true;
      await server.kill9();
      await Promise.all(loops);
      checkSnapshots();
    }
    assert.ok(writes > KEEP_SNAPSHOTS, `${writes} snapshots written`);
    // A last start cleans up temporary files of the killed writers.
    const server = await startForeground(e, COMMAND);
    checkSnapshots();
    assert.deepEqual(readdirSync(path.join(e.logs, 'config')).filter((f) => f.endsWith('.tmp')), []);
    await server.kill9();
  });
});
