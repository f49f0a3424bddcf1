/** Restoring a snapshot in-process (src/registry/startup-models.ts): odd snapshots, and `--models` next to a snapshot. */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { formatSnapshotFile } from '../../src/config/snapshot-file.js';
import { restoreSnapshot } from '../../src/registry/startup-models.js';
import type { SnapshotVersion } from '../../src/snapshot/snapshot-manager.js';
import { writeProbeMar } from '../support/archives.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';

const servers: TestServer[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const version = (marName: string, defaultVersion: boolean, workers = 1): SnapshotVersion => ({
  defaultVersion,
  marName,
  minWorkers: workers,
  maxWorkers: workers,
  batchSize: 1,
  maxBatchDelay: 100,
  responseTimeout: 120,
  startupTimeout: 120,
  runtimeType: 'python',
});

const summary = (s: TestServer): string[] =>
  s.manager.registry
    .all()
    .map((v) => `${v.name}/${v.version}:${v.workerList.length}${s.manager.registry.defaultVersion(v.name) === v.version ? '*' : ''}`)
    .sort();

describe('restoreSnapshot', () => {
  it('restores workers and default versions, and skips what it cannot restore with a message', async () => {
    const s = await startTestServer();
    servers.push(s);
    writeProbeMar(s.modelStore, { name: 'b', version: '1.0', fileName: 'b1.mar' });
    writeProbeMar(s.modelStore, { name: 'b', version: '2.0', fileName: 'b2.mar' });
    writeProbeMar(s.modelStore, { name: 'd', version: '1.0' });
    const log: string[] = [];
    await restoreSnapshot(
      s.manager,
      {
        name: '20240101000000000-snapshot.cfg',
        modelCount: 6,
        created: 0,
        models: {
          b: { '1.0': version('b1.mar', false, 0), '2.0': version('b2.mar', true, 2), '3.0': version('b2.mar', false) },
          d: { '5.0': version('d.mar', true) },
          gone: { '1.0': version('gone.mar', true) },
          broken: { '1.0': { marName: 42 } as unknown as SnapshotVersion },
        },
      },
      (m) => log.push(m),
    );
    assert.deepEqual(summary(s), ['b/1.0:0', 'b/2.0:2*']);
    assert.deepEqual(log, [
      'Restored model b version 1.0 with 0 workers',
      'Restored model b version 2.0 with 2 workers',
      'Failed to restore model b version 3.0 from the snapshot: Model version 2.0 is already registered for model b',
      'Failed to restore model d version 5.0 from the snapshot: d.mar now holds version 1.0',
      'Model archive file for model :gone, version :1.0 not found in model store; skipping it',
      'Skipping model broken version 1.0 of the snapshot: it has no marName',
    ]);
  });
});

describe('--models next to a snapshot', () => {
  it('loads only the entries the snapshot’s run did not have: an unregistered model stays gone', async () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const store = path.join(dir, 'model-store');
    mkdirSync(store, { recursive: true });
    for (const name of ['a', 'b', 'c']) writeProbeMar(store, { name });
    // The last run had `--models a=a.mar c.mar`; a was unregistered since, c is still there.
    const snapshotJson = JSON.stringify({ name: '20240101000000000-shutdown.cfg', modelCount: 1, created: 0, models: { c: { '1.0': version('c.mar', true) } } });
    mkdirSync(path.join(dir, 'logs', 'config'), { recursive: true });
    writeFileSync(
      path.join(dir, 'logs', 'config', '20240101000000000-shutdown.cfg'),
      formatSnapshotFile({ model_store: store, load_models: 'a=a.mar,c.mar' }, snapshotJson, new Date(2024, 0, 1)),
    );
    const s = await startTestServer({ dir, cli: { models: ['a=a.mar', 'c.mar', 'b.mar'] } });
    servers.push(s);
    assert.deepEqual(summary(s), ['b/1.0:1*', 'c/1.0:1*']);

    // Without snapshots, --models is all there is.
    await s.close(1000);
    servers.pop();
    const ncs = await startTestServer({ dir, cli: { models: ['a=a.mar', 'c.mar', 'b.mar'], noConfigSnapshots: true } });
    servers.push(ncs);
    assert.deepEqual(summary(ncs), ['a/1.0:1*', 'b/1.0:1*', 'c/1.0:1*']);
  });

  it('keeps `all` meaning every archive in the store: archives added since the snapshot are loaded', async () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const store = path.join(dir, 'model-store');
    mkdirSync(store, { recursive: true });
    writeProbeMar(store, { name: 'old' });
    const first = await startTestServer({ dir, cli: { models: ['all'] } });
    assert.deepEqual(summary(first), ['old/1.0:1*']);
    await first.close(1000);
    writeProbeMar(store, { name: 'added' });
    const second = await startTestServer({ dir, cli: { models: ['all'] } });
    servers.push(second);
    assert.deepEqual(summary(second), ['added/1.0:1*', 'old/1.0:1*']);
  });
});
