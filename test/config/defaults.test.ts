import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  CONFIG_KEYS,
  ORTSERVE_DEFAULT_ALLOWED_URLS,
  configKey,
  defaultOf,
  envMappings,
} from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/load-config.js';
import { tempDir } from './helpers.js';

describe('the defaults table', () => {
  it('holds TorchServe defaults (and the marked ortserve ones) for every key ortserve uses', () => {
    const expected: Record<string, string | null> = {
      inference_address: 'http://127.0.0.1:8080',
      management_address: 'http://127.0.0.1:8081',
      metrics_address: 'http://127.0.0.1:8082',
      enable_metrics_api: 'true',
      model_store: null,
      load_models: null,
      models: null,
      default_workers_per_model: '0',
      job_queue_size: '100',
      default_response_timeout: '120',
      default_startup_timeout: '120',
      unregister_model_timeout: '120',
      max_request_size: '6553500',
      max_response_size: '6553500',
      allowed_urls: 'file://.*',
      use_env_allowed_urls: 'false',
      decode_input_request: 'true',
      default_service_handler: null,
      service_envelope: null,
      cors_allowed_origin: null,
      cors_allowed_methods: null,
      cors_allowed_headers: null,
      certificate_file: null,
      private_key_file: null,
      initial_worker_port: '9000',
      intra_op_threads: '0',
      max_workers_per_model: '0',
      max_batch_size: '1024',
      token_expiration_min: '60',
      disable_token_authorization: 'false',
      enable_model_api: 'false',
      enable_envvars_config: 'false',
      metrics_mode: 'prometheus',
      metric_time_interval: '60',
      disable_system_metrics: 'false',
      debug: 'false',
      limit_max_image_pixels: 'true',
      ts_header_key_sequence_id: 'ts_request_sequence_id',
      ts_header_key_sequence_start: 'ts_request_sequence_start',
      ts_header_key_sequence_end: 'ts_request_sequence_end',
      keystore_pass: 'changeit',
      keystore_type: 'PKCS12',
      grpc_inference_port: '7070',
      grpc_management_port: '7071',
      initial_distribution_port: '29500',
    };
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(defaultOf(name), value, name);
    }
    assert.equal(ORTSERVE_DEFAULT_ALLOWED_URLS, 'file://.*');
  });

  it('marks JVM, Netty and IPEX keys as accepted but unused', () => {
    for (const name of ['ipex_enable', 'cpu_launcher_enable', 'vmargs', 'number_of_netty_threads', 'netty_client_threads', 'grpc_inference_max_connection_age_ms', 'keystore']) {
      assert.equal(configKey(name)?.used, false, name);
    }
    for (const name of ['inference_address', 'job_queue_size', 'allowed_urls', 'intra_op_threads', 'grpc_inference_port', 'workflow_store']) {
      assert.equal(configKey(name)?.used, true, name);
    }
  });

  it('maps environment variables by ConfigManager constant name', () => {
    const map = new Map(envMappings());
    assert.equal(map.get('TS_INFERENCE_ADDRESS'), 'inference_address');
    assert.equal(map.get('TS_JOB_QUEUE_SIZE'), 'job_queue_size');
    assert.equal(map.get('TS_METRICS_MODE'), 'metrics_mode');
    assert.equal(map.get('TS_DISABLE_TOKEN_AUTHORIZATION'), 'disable_token_authorization');
    assert.equal(map.get('TS_ENABLE_MODEL_API'), 'enable_model_api');
    assert.equal(map.get('TS_TOKEN_EXPIRATION_TIME_MIN'), 'token_expiration_min');
    assert.equal(map.get('TS_HEADER_KEY_SEQUENCE_ID'), 'ts_header_key_sequence_id');
    for (const unmapped of ['metric_time_interval', 'enable_envvars_config', 'models', 'model_snapshot', 'use_env_allowed_urls']) {
      assert.equal(CONFIG_KEYS[unmapped]?.env, null, unmapped);
    }
  });

  it('configKey does not see Object.prototype members', () => {
    assert.equal(configKey('constructor'), undefined);
    assert.throws(() => defaultOf('toString'));
  });
});

describe('loadConfig with no file, no env and no CLI flags', () => {
  it('gives every default, typed', () => {
    const cwd = tempDir();
    const c = loadConfig({}, {}, cwd);
    assert.equal(c.configFile, null);
    assert.deepEqual(c.inferenceAddress, { scheme: 'http', host: '127.0.0.1', port: 8080, raw: 'http://127.0.0.1:8080' });
    assert.deepEqual(c.managementAddress, { scheme: 'http', host: '127.0.0.1', port: 8081, raw: 'http://127.0.0.1:8081' });
    assert.deepEqual(c.metricsAddress, { scheme: 'http', host: '127.0.0.1', port: 8082, raw: 'http://127.0.0.1:8082' });
    assert.equal(c.enableMetricsApi, true);
    assert.equal(c.modelStore, null);
    assert.deepEqual(c.loadModels, []);
    assert.deepEqual(c.modelsJson, {});
    assert.equal(c.defaultWorkersPerModel, 0);
    assert.equal(c.jobQueueSize, 100);
    assert.equal(c.defaultResponseTimeoutSec, 120);
    assert.equal(c.defaultStartupTimeoutSec, 120);
    assert.equal(c.unregisterModelTimeoutSec, 120);
    assert.equal(c.maxRequestSize, 6553500);
    assert.equal(c.maxResponseSize, 6553500);
    assert.deepEqual(c.allowedUrls.map(String), ['/^(?:file:\\/\\/.*)$/i']);
    assert.equal(c.decodeInputRequest, true);
    assert.equal(c.defaultServiceHandler, null);
    assert.equal(c.serviceEnvelope, null);
    assert.equal(c.corsAllowedOrigin, null);
    assert.equal(c.corsAllowedMethods, null);
    assert.equal(c.corsAllowedHeaders, null);
    assert.equal(c.certificateFile, null);
    assert.equal(c.privateKeyFile, null);
    assert.equal(c.initialWorkerPort, 9000);
    assert.equal(c.tokenExpirationMin, 60);
    assert.equal(c.disableTokenAuthorization, false);
    assert.equal(c.enableModelApi, false);
    assert.equal(c.snapshotsEnabled, true);
    assert.equal(c.intraOpThreads, 0);
    assert.equal(c.logLocation, join(cwd, 'logs'));
    assert.equal(c.tempDir, tmpdir());
    assert.equal(c.modelSnapshot, null);
    assert.deepEqual(c.properties, {});
    assert.equal(c.debug, false);
    // ortserve's default; TorchServe's is log (docs/compatibility.md).
    assert.equal(c.metricsMode, 'prometheus');
    assert.equal(c.metricTimeIntervalSec, 60);
    assert.equal(c.disableSystemMetrics, false);
    assert.deepEqual(c.warnings, []);
  });

  it('the default allowed_urls allows local files and refuses http(s)', () => {
    const c = loadConfig({}, {}, tempDir());
    const allowed = (url: string): boolean => c.allowedUrls.some((re) => re.test(url));
    assert.equal(allowed('file:///models/a.mar'), true);
    assert.equal(allowed('https://example.com/a.mar'), false);
    assert.equal(allowed('http://example.com/a.mar'), false);
  });
});
