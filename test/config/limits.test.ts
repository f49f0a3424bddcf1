/**
 * config.properties keys that feed worker counts and timers (issue 13): their caps, and values a timer
 * cannot hold or a server should not start with, refused at startup with a message naming the key.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load-config.js';
import { tempDir, write } from './helpers.js';

function load(properties: string) {
  const cwd = tempDir();
  write(cwd, 'config.properties', properties);
  return loadConfig({ noConfigSnapshots: true }, {}, cwd);
}

function refused(properties: string, message: string): void {
  assert.throws(() => load(properties), (err: unknown) => err instanceof ConfigError && err.message === message, properties);
}

describe('serving limits in config.properties', () => {
  it('max_workers_per_model defaults to 4 workers per core, max_batch_size to 1024; both can be set', () => {
    const d = load('');
    assert.deepEqual([d.maxWorkersPerModel, d.maxBatchSize], [4 * availableParallelism(), 1024]);
    const set = load('max_workers_per_model=3\nmax_batch_size=16\n');
    assert.deepEqual([set.maxWorkersPerModel, set.maxBatchSize], [3, 16]);
  });

  it('refuses defaults whose timers would overflow to 1 ms, and counts out of bounds', () => {
    const timer = "the longest time Node's timers can wait";
    refused('default_response_timeout=2147484\n', `default_response_timeout=2147484 exceeds 2147483 s, ${timer}`);
    refused('default_startup_timeout=2147484\n', `default_startup_timeout=2147484 exceeds 2147483 s, ${timer}`);
    refused('unregister_model_timeout=2147484\n', `unregister_model_timeout=2147484 exceeds 2147483 s, ${timer}`);
    refused('metric_time_interval=2147484\n', `metric_time_interval=2147484 exceeds 2147483 s, ${timer}`);
    refused('default_response_timeout=-5\n', 'default_response_timeout must be at least 0, not -5');
    refused('job_queue_size=0\n', 'job_queue_size must be at least 1, not 0');
    refused('max_workers_per_model=2\ndefault_workers_per_model=3\n', 'default_workers_per_model=3 exceeds 2 workers, the cap set by max_workers_per_model');
    refused('max_batch_size=0\n', 'max_batch_size must be at least 1, not 0');
    assert.equal(load('default_response_timeout=2147483\n').defaultResponseTimeoutSec, 2147483);
    // TS_* variables land on the same keys, so they meet the same checks.
    const cwd = tempDir();
    write(cwd, 'config.properties', 'enable_envvars_config=true\n');
    assert.throws(() => loadConfig({ noConfigSnapshots: true }, { TS_DEFAULT_RESPONSE_TIMEOUT: '2147484' }, cwd), /^ConfigError: default_response_timeout=2147484 exceeds/);
  });
});
