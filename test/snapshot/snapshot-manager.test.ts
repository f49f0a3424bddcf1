/** SnapshotManager on its own (spec §5.1): the model_snapshot JSON, file names, atomic writes, pruning. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findLatestSnapshot, loadConfig } from '../../src/config/load-config.js';
import { parseProperties } from '../../src/config/properties.js';
import type { ServerConfig } from '../../src/config/types.js';
import type { ModelManager } from '../../src/registry/model-manager.js';
import { KEEP_SNAPSHOTS, parseModelSnapshot, SnapshotManager } from '../../src/snapshot/snapshot-manager.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(cli: { noConfigSnapshots?: boolean } = {}, extra = ''): ServerConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-snapshot-test-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'store'));
  writeFileSync(
    path.join(dir, 'config.properties'),
    'inference_address=http://127.0.0.1:0\nmanagement_address=http://127.0.0.2:0\nmodel_store=store\nload_models=a=a.mar\ncustom_key=a value: with = signs\n' + extra,
  );
  return loadConfig({ tsConfig: 'config.properties', ...cli }, { LOG_LOCATION: path.join(dir, 'logs') }, dir);
}

interface FakeVersion {
  name: string;
  version: string;
  url: string;
  runtime: string;
  settings: { minWorkers: number; maxWorkers: number; batchSize: number; maxBatchDelay: number; responseTimeout: number; startupTimeout: number };
}

/** Just the registry reads SnapshotManager makes. */
function fakeManager(versions: FakeVersion[], defaults: Record<string, string>): ModelManager {
  const registry = {
    names: () => [...new Set(versions.map((v) => v.name))].sort(),
    defaultVersion: (name: string) => defaults[name]!,
    versions: (name: string) => versions.filter((v) => v.name === name),
  };
  return { registry } as unknown as ModelManager;
}

const settings = (min: number, max = min) => ({ minWorkers: min, maxWorkers: max, batchSize: 4, maxBatchDelay: 50, responseTimeout: 30, startupTimeout: 60 });
const VERSIONS: FakeVersion[] = [
  { name: 'resnet', version: '1.0', url: 'resnet.mar', runtime: 'python', settings: settings(2, 4) },
  { name: 'bert', version: '1.0', url: 'bert-v1.mar', runtime: 'python', settings: settings(1) },
  { name: 'bert', version: '2.0', url: 'bert-v2.mar', runtime: 'python', settings: settings(0) },
];
const DEFAULTS = { resnet: '1.0', bert: '2.0' };

describe('SnapshotManager', () => {
  it('writes TorchServe’s model_snapshot shape', () => {
    const snapshots = new SnapshotManager(setup(), fakeManager(VERSIONS, DEFAULTS));
    const now = new Date(2024, 0, 2, 3, 4, 5, 6);
    const snap = snapshots.current('20240102030405006-snapshot.cfg', now);
    assert.deepEqual(Object.keys(snap), ['name', 'modelCount', 'created', 'models']);
    assert.equal(snap.name, '20240102030405006-snapshot.cfg');
    assert.equal(snap.modelCount, 3, 'modelCount counts versions, as TorchServe does');
    assert.equal(snap.created, now.getTime());
    assert.deepEqual(snap.models, {
      bert: {
        '1.0': { defaultVersion: false, marName: 'bert-v1.mar', minWorkers: 1, maxWorkers: 1, batchSize: 4, maxBatchDelay: 50, responseTimeout: 30, startupTimeout: 60, runtimeType: 'python' },
        '2.0': { defaultVersion: true, marName: 'bert-v2.mar', minWorkers: 0, maxWorkers: 0, batchSize: 4, maxBatchDelay: 50, responseTimeout: 30, startupTimeout: 60, runtimeType: 'python' },
      },
      resnet: {
        '1.0': { defaultVersion: true, marName: 'resnet.mar', minWorkers: 2, maxWorkers: 4, batchSize: 4, maxBatchDelay: 50, responseTimeout: 30, startupTimeout: 60, runtimeType: 'python' },
      },
    });
    assert.deepEqual(Object.keys(snap.models.resnet!['1.0']!), [
      'defaultVersion', 'marName', 'minWorkers', 'maxWorkers', 'batchSize', 'maxBatchDelay', 'responseTimeout', 'startupTimeout', 'runtimeType',
    ]);
  });

  it('saves every config property plus model_snapshot, atomically, in <yyyyMMddHHmmssSSS>-<kind>.cfg', () => {
    const config = setup();
    const snapshots = new SnapshotManager(config, fakeManager(VERSIONS, DEFAULTS));
    const before = Date.now();
    const file = snapshots.save('startup');
    assert.ok(file);
    const name = path.basename(file);
    assert.match(name, /^\d{17}-startup\.cfg$/);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('#Saving snapshot\n#'));
    const props = parseProperties(text);
    assert.equal(props.get('inference_address'), 'http://127.0.0.1:0');
    assert.equal(props.get('model_store'), 'store');
    assert.equal(props.get('load_models'), 'a=a.mar');
    assert.equal(props.get('custom_key'), 'a value: with = signs');
    assert.equal([...props.keys()].pop(), 'model_snapshot');
    const snap = parseModelSnapshot(props.get('model_snapshot')!);
    assert.ok(snap);
    assert.equal(snap.name, name);
    assert.ok(snap.created >= before && snap.created <= Date.now());
    assert.deepEqual(snap.models, snapshots.current(name, new Date(snap.created)).models);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(snapshots.dir), [name], 'no temporary file is left');
    // What the next start reads back as its config.
    assert.equal(findLatestSnapshot(config.logLocation), file);
  });

  it('keeps the newest 20 files, with names that strictly increase even within one millisecond', () => {
    const config = setup();
    const versions = VERSIONS.map((v) => ({ ...v, settings: { ...v.settings } }));
    const snapshots = new SnapshotManager(config, fakeManager(versions, DEFAULTS));
    const written: string[] = [];
    for (let i = 0; i < 30; i++) {
      versions[0]!.settings.minWorkers = i;
      // startup sorts after snapshot by name: without strictly increasing stamps the wrong one would win a tie.
      written.push(snapshots.save(i % 2 === 0 ? 'snapshot' : 'startup')!);
    }
    const stamps = written.map((f) => path.basename(f).slice(0, 17));
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! > stamps[i - 1]!, `${stamps[i]} > ${stamps[i - 1]}`);
    const left = readdirSync(snapshots.dir).sort();
    assert.equal(left.length, KEEP_SNAPSHOTS);
    assert.equal(KEEP_SNAPSHOTS, 20);
    assert.deepEqual(left, written.slice(-20).map((f) => path.basename(f)).sort());
    const latest = findLatestSnapshot(config.logLocation)!;
    assert.equal(latest, written.at(-1));
    const snap = parseModelSnapshot(parseProperties(readFileSync(latest, 'utf8')).get('model_snapshot')!)!;
    assert.equal(snap.models.resnet!['1.0']!.minWorkers, 29);
  });

  it('names a new snapshot after a newer one already on disk (clock set back)', () => {
    const config = setup();
    mkdirSync(path.join(config.logLocation, 'config'), { recursive: true });
    const future = path.join(config.logLocation, 'config', '20990101000000999-shutdown.cfg');
    writeFileSync(future, '#Saving snapshot\n');
    const file = new SnapshotManager(config, fakeManager(VERSIONS, DEFAULTS)).save('startup')!;
    assert.equal(path.basename(file), '20990101000001000-startup.cfg');
    assert.equal(findLatestSnapshot(config.logLocation), file);
  });

  it('removes temporary files left by a writer that died', () => {
    const config = setup();
    const dir = path.join(config.logLocation, 'config');
    mkdirSync(dir, { recursive: true });
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const stale = path.join(dir, `.20240101000000000-snapshot.cfg.${deadPid}.tmp`);
    writeFileSync(stale, '#Saving snap');
    new SnapshotManager(config, fakeManager(VERSIONS, DEFAULTS)).save('snapshot');
    assert.equal(existsSync(stale), false);
  });

  it('writes nothing with --ncs, and logs instead of throwing when it cannot write', () => {
    const ncs = setup({ noConfigSnapshots: true });
    assert.equal(new SnapshotManager(ncs, fakeManager(VERSIONS, DEFAULTS)).save('startup'), null);
    assert.equal(existsSync(path.join(ncs.logLocation, 'config')), false);

    const config = setup();
    mkdirSync(config.logLocation, { recursive: true });
    writeFileSync(path.join(config.logLocation, 'config'), 'not a directory');
    const logged: string[] = [];
    const snapshots = new SnapshotManager(config, fakeManager(VERSIONS, DEFAULTS), (m) => logged.push(m));
    assert.equal(snapshots.save('snapshot'), null);
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /^Could not write a config snapshot \(snapshot\) in .*: /);
  });

  it('parseModelSnapshot accepts TorchServe’s JSON and rejects anything else', () => {
    const json = '{"name":"20240101000000000-startup.cfg","modelCount":0,"created":1,"models":{}}';
    assert.deepEqual(parseModelSnapshot(json), { name: '20240101000000000-startup.cfg', modelCount: 0, created: 1, models: {} });
    for (const bad of [null, '', '{', '[]', '{"models":null}', '{"models":[]}', '"x"']) assert.equal(parseModelSnapshot(bad), null, String(bad));
  });
});

/**
 * A child process that saves snapshots in a loop, with file writes slowed down in the middle (half the
 * data, a 10 ms pause, the rest), so that a SIGKILL very likely lands mid-write. A writer that is not
 * atomic leaves a partial .cfg behind.
 */
const SLOW_WRITER = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
const writeSync = fs.writeSync;
fs.writeSync = function (fd, data, ...rest) {
  if (typeof data === 'string' && data.length > 1000 && rest.length === 0) {
    const mid = data.length >> 1;
    const n = writeSync(fd, data.slice(0, mid));
    pause();
    return n + writeSync(fd, data.slice(mid));
  }
  return writeSync(fd, data, ...rest);
};
const writeFileSync = fs.writeFileSync;
fs.writeFileSync = function (file, data, options) {
  if (typeof data === 'string' && data.length > 1000) {
    const fd = fs.openSync(file, 'w');
    try { fs.writeSync(fd, data); } finally { fs.closeSync(fd); }
    return;
  }
  return writeFileSync(file, data, options);
};
syncBuiltinESMExports();
const { SnapshotManager } = await import(process.env.MANAGER_URL);
const { loadConfig } = await import(process.env.CONFIG_URL);
const dir = process.env.DIR;
const config = loadConfig({ tsConfig: 'config.properties' }, { LOG_LOCATION: dir + '/logs' }, dir);
let i = 0;
const settings = { minWorkers: 1, maxWorkers: 1, batchSize: 1, maxBatchDelay: 100, responseTimeout: 120, startupTimeout: 120 };
const versions = ['1.0', '2.0'].map((version) => ({ name: 'm', version, url: 'm' + version + '.mar', runtime: 'python', settings }));
const registry = { names: () => ['m'], defaultVersion: () => versions[i % 2].version, versions: () => versions };
const snapshots = new SnapshotManager(config, { registry });
snapshots.save('startup');
console.log('ready');
for (;;) { i++; snapshots.save('snapshot'); console.log('saved'); }
`;

describe('SnapshotManager writes are atomic', () => {
  it('leaves only complete .cfg files when the process is killed mid-write, again and again', async () => {
    const FILLER = 64 * 1024;
    const config = setup({}, `filler=${'y'.repeat(FILLER)}\n`);
    const dir = path.dirname(config.configFile!);
    const env = {
      PATH: process.env.PATH,
      DIR: dir,
      MANAGER_URL: new URL('../../src/snapshot/snapshot-manager.js', import.meta.url).href,
      CONFIG_URL: new URL('../../src/config/load-config.js', import.meta.url).href,
    };
    const snapshotDir = path.join(config.logLocation, 'config');
    for (let round = 0; round < 10; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', SLOW_WRITER], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
      const closed = new Promise((r) => child.once('close', r));
      try {
        // Two whole saves per round (besides the startup one) before the kill: ten rounds write more than
        // KEEP_SNAPSHOTS files however slow the machine is, so the pruning check below always has work to see.
        let out = '';
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.split('saved').length - 1 >= 2) resolve();
          });
          child.once('close', () => reject(new Error('the writer exited')));
        });
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 45));
      } finally {
        child.kill('SIGKILL');
        await closed;
      }
      const files = readdirSync(snapshotDir).filter((f) => !f.startsWith('.'));
      assert.ok(files.length >= 1 && files.length <= KEEP_SNAPSHOTS, `${files.length} files`);
      for (const f of files) {
        const props = parseProperties(readFileSync(path.join(snapshotDir, f), 'utf8'));
        assert.equal(props.get('filler')?.length, FILLER, `round ${round}: ${f} is complete`);
        const snap = parseModelSnapshot(props.get('model_snapshot') ?? null);
        assert.ok(snap, `round ${round}: ${f} has its model_snapshot`);
        assert.equal(snap.name, f);
        assert.equal(snap.modelCount, 2);
      }
    }
    // Pruning ran (a kill between pruning and the rename leaves one file fewer).
    assert.ok(readdirSync(snapshotDir).filter((f) => !f.startsWith('.')).length >= KEEP_SNAPSHOTS - 1);
  });
});
