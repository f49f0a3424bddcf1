import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildModelConfig, parseModelConfig, readModelConfig } from '../../src/archive/model-config.js';
import { InvalidModelException } from '../../src/errors.js';
import { makeTempDir, rejectsInvalid } from './helpers.js';

describe('parseModelConfig', () => {
  it('types the frontend keys and keeps the whole document in raw', () => {
    const text = [
      'minWorkers: 1',
      'maxWorkers: "3"',
      'batchSize: 8',
      'maxBatchDelay: 50',
      'responseTimeout: 30',
      'startupTimeout: 60',
      'maxRetryTimeoutInSec: 10',
      'clientTimeoutInMills: 2000',
      'jobQueueSize: 7',
      'useJobTicket: yes',
      'continuousBatching: "true"',
      'useVenv: false',
      'deviceType: GPU',
      'parallelType: pptp',
      'deviceIds: [0, 1]',
      'maxBatchTokens: 4096',
      'handler:',
      '  max_length: 128',
      '  mode: sequence_classification',
    ].join('\n');
    const config = parseModelConfig(text, 'model-config.yaml');
    const { raw, ...typed } = config;
    assert.deepEqual(typed, {
      minWorkers: 1,
      maxWorkers: 3,
      batchSize: 8,
      maxBatchDelay: 50,
      responseTimeout: 30,
      startupTimeout: 60,
      maxRetryTimeoutInSec: 10,
      clientTimeoutInMills: 2000,
      jobQueueSize: 7,
      useJobTicket: true,
      continuousBatching: true,
      useVenv: false,
      deviceType: 'gpu',
      parallelType: 'pptp',
      deviceIds: [0, 1],
      maxBatchTokens: 4096,
    });
    assert.deepEqual(raw.handler, { max_length: 128, mode: 'sequence_classification' });
    assert.equal(raw.maxWorkers, '3');
  });

  it('ignores values of the wrong type or out of range, with a warning for each', () => {
    const warnings: string[] = [];
    const config = parseModelConfig(
      'minWorkers: -1\nbatchSize: 0\nmaxBatchDelay: 2.5\nresponseTimeout: soon\nuseJobTicket: maybe\ndeviceType: tpu\nparallelType: 3\ndeviceIds: [a]\n',
      'c.yaml',
      warnings,
    );
    assert.deepEqual(config, {
      raw: {
        minWorkers: -1,
        batchSize: 0,
        maxBatchDelay: 2.5,
        responseTimeout: 'soon',
        useJobTicket: 'maybe',
        deviceType: 'tpu',
        parallelType: 3,
        deviceIds: ['a'],
      },
    });
    assert.equal(warnings.length, 8);
    assert.match(warnings.join('\n'), /Invalid batchSize: 0/);
  });

  it('takes parallelLevel from torchrun nproc-per-node', () => {
    assert.equal(buildModelConfig({ torchrun: { 'nproc-per-node': 4 } }).parallelLevel, 4);
    assert.equal(buildModelConfig({ parallelLevel: 2, torchrun: { 'nproc-per-node': 4 } }).parallelLevel, 2);
  });

  it('treats an empty file as an empty config', () => {
    assert.deepEqual(parseModelConfig('', 'c.yaml'), { raw: {} });
    assert.deepEqual(parseModelConfig('# only a comment\n', 'c.yaml'), { raw: {} });
  });

  it('reports unparseable YAML with the parser message', () => {
    assert.throws(
      () => parseModelConfig('batchSize: [1, 2\nminWorkers: 1', 'c.yaml'),
      (err: unknown) =>
        err instanceof InvalidModelException && /^Failed to parse model config yaml file c\.yaml: .+line/s.test(err.message),
    );
    assert.throws(() => parseModelConfig('a: 1\na: 2\n', 'c.yaml'), InvalidModelException);
    assert.throws(() => parseModelConfig('- 1\n- 2\n', 'c.yaml'), /must be a mapping/);
  });
});

describe('readModelConfig', () => {
  it('reports no config file when the manifest names none', async () => {
    const dir = await makeTempDir();
    const result = await readModelConfig(dir, { runtime: 'python', model: {} });
    assert.deepEqual(result, { modelConfig: { raw: {} }, hasConfigFile: false });
  });

  it('reads the config file the manifest names', async () => {
    const dir = await makeTempDir();
    await fs.writeFile(path.join(dir, 'cfg.yaml'), 'batchSize: 4\n');
    const result = await readModelConfig(dir, { runtime: 'python', model: { configFile: 'cfg.yaml' } });
    assert.equal(result.hasConfigFile, true);
    assert.equal(result.modelConfig.batchSize, 4);
  });

  it('refuses a config file that is named but missing, or outside the archive', async () => {
    const dir = await makeTempDir();
    await rejectsInvalid(readModelConfig(dir, { runtime: 'python', model: { configFile: 'cfg.yaml' } }), /cfg\.yaml.*missing/);
    await rejectsInvalid(readModelConfig(dir, { runtime: 'python', model: { configFile: '/etc/hostname' } }), /not a file inside/);
  });
});
