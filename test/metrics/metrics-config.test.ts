/**
 * metrics.yaml (metrics/metrics-config.ts): TorchServe's default file, anchors, errors at startup; and the
 * histogram exposition of TsFamily (simpleclient 0.9.0 style).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load-config.js';
import { DEFAULT_METRICS_YAML, loadMetricsConfig, parseMetricsYaml } from '../../src/metrics/metrics-config.js';
import { TsFamily } from '../../src/metrics/torchserve-text.js';
import { tempDir, write } from '../config/helpers.js';

const TS_NAMES = [
  'Requests2XX',
  'Requests4XX',
  'Requests5XX',
  'ts_inference_requests_total',
  'ts_inference_latency_microseconds',
  'ts_queue_latency_microseconds',
  'QueueTime',
  'WorkerThreadTime',
  'WorkerLoadTime',
  'CPUUtilization',
  'MemoryUsed',
  'MemoryAvailable',
  'MemoryUtilization',
  'DiskUsage',
  'DiskUtilization',
  'DiskAvailable',
];

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
}

describe('metrics.yaml', () => {
  it("without metrics_config: TorchServe's default file, 16 ts_metrics and HandlerTime/PredictionTime", () => {
    const c = loadMetricsConfig(null, false);
    assert.equal(c.source, 'default');
    assert.equal(c.autoDetect, false);
    assert.deepEqual(c.tsMetrics.map((d) => d.name), TS_NAMES);
    assert.deepEqual(c.tsMetrics.slice(0, 6).map((d) => d.type), Array(6).fill('counter'));
    assert.deepEqual(c.tsMetrics.slice(6).map((d) => d.type), Array(10).fill('gauge'));
    assert.deepEqual(c.tsMetrics[0], { name: 'Requests2XX', type: 'counter', unit: 'Count', dimensions: ['Level', 'Hostname'] });
    assert.deepEqual(c.tsMetrics[3]!.dimensions, ['model_name', 'model_version', 'hostname']);
    assert.deepEqual(c.tsMetrics[8], { name: 'WorkerLoadTime', type: 'gauge', unit: 'Milliseconds', dimensions: ['WorkerName', 'Level', 'Hostname'] });
    assert.deepEqual(c.modelMetrics, [
      { name: 'HandlerTime', type: 'gauge', unit: 'ms', dimensions: ['ModelName', 'Level'] },
      { name: 'PredictionTime', type: 'gauge', unit: 'ms', dimensions: ['ModelName', 'Level'] },
    ]);
    assert.equal(loadMetricsConfig(null, true).autoDetect, true);
  });

  it('loads a file with YAML anchors and aliases, histogram entries and numeric units', () => {
    const file = write(
      tempDir(),
      'metrics.yaml',
      `dimensions:
  - &mn "ModelName"
  - &lv "Level"
ts_metrics:
  counter:
    - name: Requests2XX
      unit: Count
      dimensions: [*lv, "Hostname"]
model_metrics:
  histogram:
    - name: TextLength
      unit: chars
      dimensions: [*mn, *lv]
  counter:
    - name: Batches
      unit: 1
  gauge:
`,
    );
    const c = loadMetricsConfig(file, true);
    assert.equal(c.source, file);
    assert.deepEqual(c.tsMetrics, [{ name: 'Requests2XX', type: 'counter', unit: 'Count', dimensions: ['Level', 'Hostname'] }]);
    assert.deepEqual(c.modelMetrics, [
      { name: 'TextLength', type: 'histogram', unit: 'chars', dimensions: ['ModelName', 'Level'] },
      { name: 'Batches', type: 'counter', unit: '1', dimensions: [] },
    ]);
  });

  it('gives the same declarations for the default text parsed directly', () => {
    assert.deepEqual(parseMetricsYaml(DEFAULT_METRICS_YAML, 'default', false), loadMetricsConfig(null, false));
  });

  it('rejects an invalid metric type key', () => {
    configError(() => parseMetricsYaml('model_metrics:\n  summary:\n    - name: X\n      unit: ms\n', 'f.yaml', false), /f\.yaml: invalid metric type "summary" in "model_metrics"/);
    configError(() => parseMetricsYaml('ts_metrics:\n  Counter:\n    - name: X\n      unit: ms\n', 'f.yaml', false), /invalid metric type "Counter" in "ts_metrics"/);
  });

  it('rejects an entry without a name, without a unit, or with bad dimensions', () => {
    configError(() => parseMetricsYaml('model_metrics:\n  gauge:\n    - unit: ms\n', 'f.yaml', false), /an entry of "model_metrics\.gauge" has no name/);
    configError(() => parseMetricsYaml('model_metrics:\n  gauge:\n    - name: ""\n      unit: ms\n', 'f.yaml', false), /has no name/);
    configError(() => parseMetricsYaml('model_metrics:\n  gauge:\n    - name: G\n', 'f.yaml', false), /metric "G" has no unit/);
    configError(() => parseMetricsYaml('model_metrics:\n  gauge:\n    - name: G\n      unit: ms\n      dimensions: ModelName\n', 'f.yaml', false), /dimensions of metric "G"/);
  });

  it('rejects text that is not a metrics configuration', () => {
    configError(() => parseMetricsYaml('model_metrics: [a, b]\n', 'f.yaml', false), /"model_metrics" must map metric types to lists/);
    configError(() => parseMetricsYaml('model_metrics:\n  gauge: HandlerTime\n', 'f.yaml', false), /"model_metrics\.gauge" must be a list/);
    configError(() => parseMetricsYaml('- a\n- b\n', 'f.yaml', false), /not a metrics configuration/);
    configError(() => parseMetricsYaml('a: [\n', 'f.yaml', false), /f\.yaml: not valid YAML/);
  });

  it('an unreadable path is a ConfigError', () => {
    const missing = path.join(tempDir(), 'nope.yaml');
    configError(() => loadMetricsConfig(missing, false), new RegExp(`metrics_config: cannot read ${missing.replace(/[.]/g, '\\.')}`));
    configError(() => loadMetricsConfig(tempDir(), false), /metrics_config: cannot read/);
  });

  it('loadConfig stops on a bad metrics_config file, relative to the working directory', () => {
    const cwd = tempDir();
    write(cwd, 'bad.yaml', 'model_metrics:\n  summary:\n    - name: X\n      unit: ms\n');
    write(cwd, 'config.properties', 'metrics_config=bad.yaml\n');
    configError(() => loadConfig({}, {}, cwd), /bad\.yaml: invalid metric type "summary"/);
    write(cwd, 'config.properties', 'metrics_config=missing.yaml\n');
    configError(() => loadConfig({}, {}, cwd), /metrics_config: cannot read .*missing\.yaml/);
    write(cwd, 'good.yaml', 'model_metrics:\n  counter:\n    - name: C\n      unit: count\n');
    write(cwd, 'config.properties', 'metrics_config=good.yaml\nmodel_metrics_auto_detect=true\n');
    const c = loadConfig({}, {}, cwd).metricsConfig;
    assert.deepEqual(c.modelMetrics, [{ name: 'C', type: 'counter', unit: 'count', dimensions: [] }]);
    assert.deepEqual(c.tsMetrics, []);
    assert.equal(c.autoDetect, true);
    assert.equal(c.source, path.join(cwd, 'good.yaml'));
  });
});

describe('TsFamily histogram', () => {
  it('renders simpleclient buckets (cumulative), then _count, then _sum', () => {
    const f = new TsFamily('TextLength', 'histogram', 'chars', ['ModelName', 'Level', 'Hostname']);
    f.observe(['m', 'Model', 'h'], 0.02);
    f.observe(['m', 'Model', 'h'], 3);
    const labels = 'ModelName="m",Level="Model",Hostname="h",';
    const bucket = (le: string, n: number) => `TextLength_bucket{${labels}le="${le}",} ${n}.0\n`;
    assert.equal(
      f.render(),
      '# HELP TextLength Torchserve prometheus histogram metric with unit: chars\n' +
        '# TYPE TextLength histogram\n' +
        bucket('0.005', 0) +
        bucket('0.01', 0) +
        bucket('0.025', 1) +
        bucket('0.05', 1) +
        bucket('0.075', 1) +
        bucket('0.1', 1) +
        bucket('0.25', 1) +
        bucket('0.5', 1) +
        bucket('0.75', 1) +
        bucket('1.0', 1) +
        bucket('2.5', 1) +
        bucket('5.0', 2) +
        bucket('7.5', 2) +
        bucket('10.0', 2) +
        bucket('+Inf', 2) +
        `TextLength_count{${labels}} 2.0\n` +
        `TextLength_sum{${labels}} 3.02\n`,
    );
  });

  it('counts a value equal to a bound in that bucket, and renders HELP/TYPE alone without samples', () => {
    const f = new TsFamily('H', 'histogram', 'ms', ['Level']);
    assert.equal(f.render(), '# HELP H Torchserve prometheus histogram metric with unit: ms\n# TYPE H histogram\n');
    f.update(['x'], 5);
    f.update(['x'], 100);
    const text = f.render();
    assert.ok(text.includes('H_bucket{Level="x",le="2.5",} 0.0\n'));
    assert.ok(text.includes('H_bucket{Level="x",le="5.0",} 1.0\n'));
    assert.ok(text.includes('H_bucket{Level="x",le="10.0",} 1.0\n'));
    assert.ok(text.includes('H_bucket{Level="x",le="+Inf",} 2.0\n'));
    assert.ok(text.endsWith('H_count{Level="x",} 2.0\nH_sum{Level="x",} 105.0\n'));
    assert.equal(f.get(['x']), 105);
  });
});
