import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ConfigError } from '../../src/config/errors.js';
import { findLatestSnapshot, loadConfig } from '../../src/config/load-config.js';
import { tempDir, write } from './helpers.js';

/** loadConfig on a fresh cwd holding `config.properties` with the given text. */
function load(text: string, env: Record<string, string> = {}, cli = {}): ReturnType<typeof loadConfig> {
  const cwd = tempDir();
  write(cwd, 'config.properties', text);
  return loadConfig(cli, env, cwd);
}

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
}

describe('config file location', () => {
  it('TS_CONFIG_FILE wins over --ts-config, snapshots and ./config.properties', () => {
    const cwd = tempDir();
    write(cwd, 'env.properties', 'job_queue_size=1\n');
    write(cwd, 'cli.properties', 'job_queue_size=2\n');
    write(cwd, 'logs/config/20240101000000000-snapshot.cfg', 'job_queue_size=3\n');
    write(cwd, 'config.properties', 'job_queue_size=4\n');
    const c = loadConfig({ tsConfig: 'cli.properties' }, { TS_CONFIG_FILE: 'env.properties' }, cwd);
    assert.equal(c.jobQueueSize, 1);
    assert.equal(c.configFile, join(cwd, 'env.properties'));
  });

  it('--ts-config wins over snapshots and ./config.properties', () => {
    const cwd = tempDir();
    write(cwd, 'cli.properties', 'job_queue_size=2\n');
    write(cwd, 'logs/config/20240101000000000-snapshot.cfg', 'job_queue_size=3\n');
    write(cwd, 'config.properties', 'job_queue_size=4\n');
    assert.equal(loadConfig({ tsConfig: 'cli.properties' }, {}, cwd).jobQueueSize, 2);
  });

  it('the newest snapshot wins over ./config.properties, and is read alone', () => {
    const cwd = tempDir();
    write(cwd, 'logs/config/20240101000000000-startup.cfg', 'job_queue_size=30\n');
    const newest = write(cwd, 'logs/config/20240301120000000-snapshot.cfg', 'job_queue_size=3\n');
    write(cwd, 'config.properties', 'job_queue_size=4\nmax_request_size=7\n');
    const c = loadConfig({}, {}, cwd);
    assert.equal(c.jobQueueSize, 3);
    assert.equal(c.maxRequestSize, 6553500);
    assert.equal(c.configFile, newest);
  });

  it('noConfigSnapshots skips snapshots and disables them', () => {
    const cwd = tempDir();
    write(cwd, 'logs/config/20240101000000000-snapshot.cfg', 'job_queue_size=3\n');
    write(cwd, 'config.properties', 'job_queue_size=4\n');
    const c = loadConfig({ noConfigSnapshots: true }, {}, cwd);
    assert.equal(c.jobQueueSize, 4);
    assert.equal(c.snapshotsEnabled, false);
  });

  it('LOG_LOCATION moves the snapshot directory', () => {
    const cwd = tempDir();
    write(cwd, 'elsewhere/config/20240101000000000-snapshot.cfg', 'job_queue_size=5\n');
    write(cwd, 'logs/config/20250101000000000-snapshot.cfg', 'job_queue_size=6\n');
    const c = loadConfig({}, { LOG_LOCATION: 'elsewhere' }, cwd);
    assert.equal(c.jobQueueSize, 5);
    assert.equal(c.logLocation, join(cwd, 'elsewhere'));
  });

  it('./config.properties is used when there is nothing else', () => {
    const cwd = tempDir();
    const path = write(cwd, 'config.properties', 'job_queue_size=4\n');
    const c = loadConfig({}, {}, cwd);
    assert.equal(c.jobQueueSize, 4);
    assert.equal(c.configFile, path);
  });

  it('a named config file that does not exist is an error', () => {
    const cwd = tempDir();
    configError(() => loadConfig({ tsConfig: 'missing.properties' }, {}, cwd), /--ts-config file not found: missing\.properties/);
    configError(() => loadConfig({}, { TS_CONFIG_FILE: '/nope/x.properties' }, cwd), /not found/);
  });
});

describe('findLatestSnapshot', () => {
  it('orders by the timestamp prefix, ignoring other files and directories', () => {
    const logs = tempDir();
    write(logs, 'config/20231231235959999-shutdown.cfg', '');
    write(logs, 'config/20240102000000000-startup.cfg', '');
    write(logs, 'config/20240101000000000-snapshot.cfg', '');
    write(logs, 'config/notes.cfg', '');
    write(logs, 'config/99999999999999999-snapshot.txt', '');
    mkdirSync(join(logs, 'config/99999999999999999-dir.cfg'));
    assert.equal(findLatestSnapshot(logs), join(logs, 'config/20240102000000000-startup.cfg'));
  });

  it('returns null without a config directory or without snapshots', () => {
    const logs = tempDir();
    assert.equal(findLatestSnapshot(logs), null);
    write(logs, 'config/readme.txt', '');
    assert.equal(findLatestSnapshot(logs), null);
  });
});

describe('$$VAR$$ substitution', () => {
  it('replaces every reference in a value', () => {
    const c = load('model_store=$$BASE$$/$$SUB$$\ncors_allowed_origin=*\n', { BASE: '/srv', SUB: 'models' });
    assert.equal(c.modelStore, '/srv/models');
    assert.equal(c.properties['model_store'], '/srv/models');
  });

  it('inserts the value literally, even with $ or backslashes', () => {
    assert.equal(load('service_envelope=$$ENV_X$$\n', { ENV_X: 'a$1\\b' }).serviceEnvelope, 'a$1\\b');
  });

  it('throws a ConfigError naming an undefined variable', () => {
    configError(() => load('model_store=$$NOT_SET_ANYWHERE$$\n'), /NOT_SET_ANYWHERE/);
  });

  it('leaves one-character names alone, as TorchServe\'s pattern does', () => {
    assert.equal(load('service_envelope=$$A$$\n').serviceEnvelope, '$$A$$');
  });
});

describe('environment variables', () => {
  const env = {
    TS_INFERENCE_ADDRESS: 'http://0.0.0.0:9080',
    TS_JOB_QUEUE_SIZE: '7',
    TS_METRICS_MODE: 'legacy',
    TS_DISABLE_TOKEN_AUTHORIZATION: 'true',
    TS_ENABLE_MODEL_API: 'true',
    TS_TOKEN_EXPIRATION_TIME_MIN: '1.5',
    TS_METRIC_TIME_INTERVAL: '5',
  };

  it('are ignored without enable_envvars_config=true', () => {
    const c = load('job_queue_size=3\n', env);
    assert.equal(c.inferenceAddress.port, 8080);
    assert.equal(c.jobQueueSize, 3);
    assert.equal(c.metricsMode, 'prometheus');
    assert.equal(c.disableTokenAuthorization, false);
    assert.equal(c.enableModelApi, false);
  });

  it('override the file with enable_envvars_config=true (metric_time_interval is not mapped)', () => {
    const c = load('enable_envvars_config=true\njob_queue_size=3\nmetric_time_interval=30\n', env);
    assert.equal(c.inferenceAddress.raw, 'http://0.0.0.0:9080');
    assert.equal(c.jobQueueSize, 7);
    assert.equal(c.metricsMode, 'legacy');
    assert.equal(c.disableTokenAuthorization, true);
    assert.equal(c.enableModelApi, true);
    assert.equal(c.tokenExpirationMin, 1.5);
    assert.equal(c.metricTimeIntervalSec, 30);
    assert.equal(c.properties['job_queue_size'], '7');
  });

  it('TS_ALLOWED_URLS counts only with use_env_allowed_urls=true', () => {
    const urls = { TS_ALLOWED_URLS: 'https://models\\.example\\.com/.*' };
    const without = load('enable_envvars_config=true\n', urls);
    assert.deepEqual(without.allowedUrls.map(String), ['/^(?:file:\\/\\/.*)$/i']);
    const withIt = load('enable_envvars_config=true\nuse_env_allowed_urls=true\n', urls);
    assert.equal(withIt.allowedUrls.length, 1);
    assert.equal(withIt.allowedUrls[0]!.test('https://models.example.com/a.mar'), true);
  });

  it('beat the CLI (env > CLI > file)', () => {
    const c = load(
      'enable_envvars_config=true\nmodel_store=/file\n',
      { TS_MODEL_STORE: '/env', TS_DISABLE_TOKEN_AUTHORIZATION: 'false', TS_LOAD_MODELS: 'e.mar' },
      { modelStore: '/cli', disableTokenAuth: true, models: ['c.mar'] },
    );
    assert.equal(c.modelStore, '/env');
    assert.equal(c.disableTokenAuthorization, false);
    assert.deepEqual(c.loadModels, ['e.mar']);
  });

  it('TEMP sets tempDir and must be a directory', () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'tmp'));
    assert.equal(loadConfig({}, { TEMP: 'tmp' }, cwd).tempDir, join(cwd, 'tmp'));
    configError(() => loadConfig({}, { TEMP: 'no-such-dir' }, cwd), /Invalid temp directory: no-such-dir/);
  });
});

describe('CLI overrides', () => {
  it('beat the file', () => {
    const c = load('model_store=/file\nload_models=f.mar\n', {}, { modelStore: 'store', models: ['a=a.mar', 'b.mar,c.mar'] });
    assert.match(c.modelStore ?? '', /[/\\]store$/);
    assert.deepEqual(c.loadModels, ['a=a.mar', 'b.mar', 'c.mar']);
    assert.equal(c.properties['load_models'], 'a=a.mar,b.mar,c.mar');
  });

  it('can only enable the model API and only disable token authorization', () => {
    const off = load('enable_model_api=true\ndisable_token_authorization=true\n', {}, { enableModelApi: false, disableTokenAuth: false });
    assert.equal(off.enableModelApi, true);
    assert.equal(off.disableTokenAuthorization, true);
    const on = load('enable_model_api=false\ndisable_token_authorization=false\n', {}, { enableModelApi: true, disableTokenAuth: true });
    assert.equal(on.enableModelApi, true);
    assert.equal(on.disableTokenAuthorization, true);
  });
});

describe('addresses', () => {
  it('parse http, https, port 0 and IPv6', () => {
    const c = load('inference_address=https://0.0.0.0:8443\nmanagement_address=http://[::1]:0\nmetrics_address=HTTP://localhost:9\n');
    assert.deepEqual(c.inferenceAddress, { scheme: 'https', host: '0.0.0.0', port: 8443, raw: 'https://0.0.0.0:8443' });
    assert.deepEqual(c.managementAddress, { scheme: 'http', host: '::1', port: 0, raw: 'http://[::1]:0' });
    assert.deepEqual(c.metricsAddress, { scheme: 'http', host: 'localhost', port: 9, raw: 'http://localhost:9' });
  });

  it('use TorchServe\'s Connector defaults when the port is missing', () => {
    const http = load('inference_address=http://a\nmanagement_address=http://b\nmetrics_address=http://c\n');
    assert.deepEqual([http.inferenceAddress.port, http.managementAddress.port, http.metricsAddress.port], [80, 8081, 8082]);
    const https = load('inference_address=https://a\nmanagement_address=https://b\nmetrics_address=https://c\n');
    assert.deepEqual([https.inferenceAddress.port, https.managementAddress.port, https.metricsAddress.port], [443, 8444, 8445]);
  });

  it('equal addresses get equal raw text', () => {
    const c = load('inference_address=HTTP://127.0.0.1:8080\nmanagement_address=http://127.0.0.1:8080\n');
    assert.equal(c.inferenceAddress.raw, c.managementAddress.raw);
  });

  it('reject unix sockets, paths, bad ports and bad IPv6', () => {
    configError(() => load('inference_address=unix:/tmp/ts.sock\n'), /unix socket addresses are not supported by ortserve/);
    configError(() => load('management_address=http://127.0.0.1:8081/api\n'), /Invalid binding address/);
    configError(() => load('metrics_address=127.0.0.1:8082\n'), /Invalid binding address/);
    configError(() => load('inference_address=http://h:65536\n'), /Invalid port number/);
    configError(() => load('inference_address=http://[not-ipv6]:1\n'), /Invalid binding address/);
  });
});

describe('models JSON', () => {
  it('parses per-version settings and drops non-positive integers', () => {
    const c = load(
      'models={"noop": {"1.0": {"defaultVersion": true, "marName": "noop.mar", "minWorkers": 2, "maxWorkers": 0, "batchSize": -1, "maxBatchDelay": 100, "responseTimeout": "30", "runtimeType": "python", "parallelLevel": 2}}}\n',
    );
    assert.deepEqual(c.modelsJson, {
      noop: {
        '1.0': { defaultVersion: true, marName: 'noop.mar', minWorkers: 2, maxBatchDelay: 100, responseTimeout: 30, runtimeType: 'python', parallelLevel: 2 },
      },
    });
    assert.deepEqual(c.warnings, []);
  });

  it('reads a continued multi-line value', () => {
    const c = load('models={\\\n  "a": {\\\n    "2.0": {"batchSize": 4}\\\n  }\\\n}\n');
    assert.deepEqual(c.modelsJson, { a: { '2.0': { batchSize: 4 } } });
  });

  it('warns about fields of the wrong type', () => {
    const c = load('models={"a": {"1": {"minWorkers": "lots", "marName": 3}}}\n');
    assert.deepEqual(c.modelsJson, { a: { '1': {} } });
    assert.equal(c.warnings.length, 2);
  });

  it('invalid JSON or the wrong shape is a ConfigError', () => {
    configError(() => load('models={"a": \n'), /Invalid JSON in the "models" property/);
    configError(() => load('models=[1]\n'), /must be a JSON object/);
    configError(() => load('models={"a": 1}\n'), /"a"/);
  });
});

describe('allowed_urls', () => {
  it('is a comma list of case-insensitive full-match regexes', () => {
    const c = load('allowed_urls=https://s3\\\\.amazonaws\\\\.com/.*,file:///models/.*\n');
    const allowed = (url: string): boolean => c.allowedUrls.some((re) => re.test(url));
    assert.equal(allowed('https://s3.amazonaws.com/bucket/a.mar'), true);
    assert.equal(allowed('HTTPS://S3.AMAZONAWS.COM/bucket/a.mar'), true);
    assert.equal(allowed('file:///models/x.mar'), true);
    assert.equal(allowed('https://evil.com/?https://s3.amazonaws.com/a'), false);
    assert.equal(allowed('xfile:///models/x.mar'), false);
  });

  it('anchors alternations as a whole', () => {
    const c = load('allowed_urls=file://.*|http(s)?://good\\\\.com/.*\n');
    assert.equal(c.allowedUrls[0]!.test('https://good.com/a'), true);
    assert.equal(c.allowedUrls[0]!.test('https://bad.com/a#http://good.com/'), false);
  });

  it('an invalid regex is a ConfigError', () => {
    configError(() => load('allowed_urls=file://(.*\n'), /allowed_urls/);
  });
});

describe('value checks', () => {
  it('a non-integer is a ConfigError naming key and value (TorchServe dies on it too)', () => {
    configError(() => load('job_queue_size=lots\n'), /job_queue_size: "lots"/);
    configError(() => load('default_response_timeout=1.5\n'), /default_response_timeout/);
    configError(() => load('max_request_size=99999999999\n'), /max_request_size/);
  });

  it('tolerates blanks around integers', () => {
    assert.equal(load('job_queue_size = 12  \n').jobQueueSize, 12);
  });

  it('warns about non-boolean values and TorchServe-tolerated bad values', () => {
    const c = load('enable_metrics_api=yes\ntoken_expiration_min=soon\nmetrics_mode=fancy\nipex_enable=true\n');
    assert.equal(c.enableMetricsApi, false);
    assert.equal(c.tokenExpirationMin, 60);
    assert.equal(c.metricsMode, 'log');
    assert.equal(c.warnings.length, 4);
    assert.ok(c.warnings.some((w) => w.includes('ipex_enable')));
  });

  it('keeps every property, known or not, plus model_snapshot', () => {
    const c = load('custom_handler_key=42\nnumber_of_netty_threads=32\nmodel_snapshot={"modelCount":0}\n');
    assert.equal(c.properties['custom_handler_key'], '42');
    assert.equal(c.properties['number_of_netty_threads'], '32');
    assert.equal(c.modelSnapshot, '{"modelCount":0}');
  });

  it('resolves file paths against cwd', () => {
    const cwd = tempDir();
    write(cwd, 'config.properties', 'certificate_file=certs/c.pem\nprivate_key_file=/abs/k.pem\n');
    const c = loadConfig({}, {}, cwd);
    assert.equal(c.certificateFile, join(cwd, 'certs/c.pem'));
    assert.equal(c.privateKeyFile, '/abs/k.pem');
  });
});
