import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { findLatestSnapshot, loadConfig } from '../../src/config/load-config.js';
import { parseProperties } from '../../src/config/properties.js';
import { formatSnapshotFile, javaDateString, snapshotFileName } from '../../src/config/snapshot-file.js';
import { tempDir, write } from './helpers.js';

const DATE = new Date(2024, 1, 3, 4, 5, 6, 7); // local time: 2024-02-03 04:05:06.007

const SNAPSHOT_JSON = JSON.stringify(
  {
    name: '20240203040506007-snapshot.cfg',
    modelCount: 1,
    created: 1706933106007,
    models: { noop: { '1.0': { defaultVersion: true, marName: 'noop.mar', minWorkers: 1, maxWorkers: 1, batchSize: 1, maxBatchDelay: 100, responseTimeout: 120, startupTimeout: 120, runtimeType: 'python' } } },
  },
  null,
  2,
);

describe('snapshotFileName', () => {
  it('is yyyyMMddHHmmssSSS-<kind>.cfg in local time', () => {
    assert.equal(snapshotFileName(DATE, 'startup'), '20240203040506007-startup.cfg');
    assert.equal(snapshotFileName(DATE, 'snapshot'), '20240203040506007-snapshot.cfg');
    assert.equal(snapshotFileName(new Date(2023, 11, 31, 23, 59, 59, 999), 'shutdown'), '20231231235959999-shutdown.cfg');
  });
});

describe('javaDateString', () => {
  it('looks like Java Date.toString', () => {
    assert.match(javaDateString(DATE), /^Sat Feb 03 04:05:06 \S+ 2024$/);
  });
});

describe('formatSnapshotFile', () => {
  it('starts with #Saving snapshot and a date comment, and ends with model_snapshot', () => {
    const text = formatSnapshotFile({ inference_address: 'http://0.0.0.0:8080', model_store: '/m' }, SNAPSHOT_JSON, DATE);
    const lines = text.split('\n');
    assert.equal(lines[0], '#Saving snapshot');
    assert.equal(lines[1], `#${javaDateString(DATE)}`);
    assert.equal(lines[2], 'inference_address=http\\://0.0.0.0\\:8080');
    assert.equal(lines[3], 'model_store=/m');
    assert.ok(lines[4]!.startsWith('model_snapshot={\\n  "name"\\: '));
    assert.equal(lines[5], '');
    assert.equal(lines.length, 6);
  });

  it('round-trips through parseProperties, replacing an old model_snapshot', () => {
    const props = { model_snapshot: '{"old":true}', load_models: 'a=a.mar,b.mar', cors_allowed_origin: '*', 'odd key': ' x#y!z ' };
    const back = parseProperties(formatSnapshotFile(props, SNAPSHOT_JSON, DATE));
    assert.deepEqual(Object.fromEntries(back), {
      load_models: 'a=a.mar,b.mar',
      cors_allowed_origin: '*',
      'odd key': ' x#y!z ',
      model_snapshot: SNAPSHOT_JSON,
    });
    assert.deepEqual(JSON.parse(back.get('model_snapshot')!), JSON.parse(SNAPSHOT_JSON));
  });

  it('a written snapshot is found and loaded as the config', () => {
    const cwd = tempDir();
    const name = snapshotFileName(DATE, 'shutdown');
    write(cwd, `logs/config/${name}`, formatSnapshotFile({ job_queue_size: '9', model_store: join(cwd, 'ms') }, SNAPSHOT_JSON, DATE));
    assert.equal(findLatestSnapshot(join(cwd, 'logs')), join(cwd, 'logs/config', name));
    const c = loadConfig({}, {}, cwd);
    assert.equal(c.jobQueueSize, 9);
    assert.equal(c.modelStore, join(cwd, 'ms'));
    assert.equal(c.modelSnapshot, SNAPSHOT_JSON);
  });
});
