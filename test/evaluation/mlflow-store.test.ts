/**
 * --mlflow-dir's layout against MLflow's file store format (mlflow/store/tracking/file_store.py, which
 * `mlflow ui --backend-store-uri DIR` reads): the experiment's and the runs' meta.yaml with the fields
 * FileStore writes and reads back (Experiment and RunInfo, plus the persisted extras of
 * _make_persisted_run_info_dict), params and tags as one value per file, metrics as
 * "<timestamp> <value> <step>" lines, and the artifacts folder under the run. MLflow itself is not
 * installable from the project's package mirror, so the format is checked here rather than by
 * reading the folder with MLflow.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { summarizeLatency } from '../../src/evaluation/latency.js';
import { classificationMetrics } from '../../src/evaluation/metrics.js';
import { mlflowKey, writeMlflowRuns } from '../../src/evaluation/mlflow-store.js';
import type { EvaluationReport, ModelEvaluation } from '../../src/evaluation/run-evaluation.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-mlflow-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The keys FileStore writes in an experiment's meta.yaml (dict(Experiment) without tags). */
const EXPERIMENT_KEYS = ['artifact_location', 'creation_time', 'experiment_id', 'last_update_time', 'lifecycle_stage', 'name'];
/** dict(RunInfo) plus _make_persisted_run_info_dict's extras (tags, source_*, entry_point_name). */
const RUN_KEYS = ['artifact_uri', 'end_time', 'entry_point_name', 'experiment_id', 'lifecycle_stage', 'run_id', 'run_name', 'run_uuid', 'source_name', 'source_type', 'source_version', 'start_time', 'status', 'tags', 'user_id'];
/** MLflow's name check for params, metrics and tags (mlflow/utils/validation.py). */
const VALID_NAME = /^[/\w.\- :]*$/;

const actual = ['jazz', 'jazz', 'rock', 'rock', 'blues'];
const good: ModelEvaluation = {
  model: 'music/2.0',
  served: { name: 'music', version: '2.0', url: 'music-2.mar', archiveSha256: 'ef'.repeat(32) },
  error: null,
  answered: 5,
  failed: 0,
  failures: [],
  metrics: classificationMetrics(actual, ['jazz', 'rock', 'rock', 'rock', '(none)']),
  latencyMs: summarizeLatency([3, 4, 5]),
  wallSeconds: 1,
  rowsPerSecond: 5,
};
const bad: ModelEvaluation = { ...good, model: 'nope', served: null, error: 'model nope: the server answered 404', answered: 0, failed: 5, metrics: null, latencyMs: summarizeLatency([]) };
const report: EvaluationReport = {
  createdAt: '2026-01-31T12:00:00.000Z',
  server: 'http://127.0.0.1:8080',
  serverVersion: '0.1.0',
  field: null,
  concurrency: 4,
  dataset: { files: ['test.csv'], labelColumn: 'subtaxonomy', textColumns: ['text'], where: [{ column: 'taxonomy', value: 'music' }], read: 9, evaluated: 5, skipped: 0, classCounts: { jazz: 2, rock: 2, blues: 1 } },
  models: [good, bad],
};

const readYaml = (file: string): Record<string, unknown> => parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('MLflow file store', () => {
  it('writes the experiment, one run per model, params, metrics, tags and artifacts as MLflow lays them out', () => {
    const reportDir = path.join(dir, 'report');
    mkdirSync(reportDir);
    writeFileSync(path.join(reportDir, 'report.json'), '{}\n');
    writeFileSync(path.join(reportDir, 'confusion-music_2.0.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const root = path.join(dir, 'mlruns');
    const runs = writeMlflowRuns(root, report, reportDir, 1_700_000_000_000, 1_700_000_005_000);

    assert.deepEqual(readdirSync(root).sort(), ['.trash', '0']);
    const experiment = readYaml(path.join(root, '0', 'meta.yaml'));
    assert.deepEqual(Object.keys(experiment).sort(), EXPERIMENT_KEYS);
    assert.equal(experiment.experiment_id, '0', 'a string, as MLflow stores it');
    assert.equal(experiment.name, 'Default');
    assert.equal(experiment.lifecycle_stage, 'active');
    assert.equal(experiment.artifact_location, pathToFileURL(path.join(root, '0')).href);
    assert.equal(typeof experiment.creation_time, 'number');

    assert.equal(runs.length, 2);
    for (const [i, r] of runs.entries()) {
      assert.match(r.runId, /^[0-9a-f]{32}$/);
      const runDir = path.join(root, '0', r.runId);
      assert.deepEqual(readdirSync(runDir).sort(), ['artifacts', 'meta.yaml', 'metrics', 'params', 'tags']);
      const meta = readYaml(path.join(runDir, 'meta.yaml'));
      assert.deepEqual(Object.keys(meta).sort(), RUN_KEYS);
      assert.equal(meta.run_id, r.runId);
      assert.equal(meta.run_uuid, r.runId);
      assert.equal(meta.experiment_id, '0');
      assert.equal(meta.run_name, report.models[i]!.model);
      assert.equal(meta.start_time, 1_700_000_000_000);
      assert.equal(meta.end_time, 1_700_000_005_000);
      // RunStatus.FINISHED is 3 and FAILED 4; SourceType.LOCAL is 4.
      assert.equal(meta.status, i === 0 ? 3 : 4);
      assert.equal(meta.source_type, 4);
      assert.deepEqual(meta.tags, []);
      assert.equal(meta.artifact_uri, pathToFileURL(path.join(runDir, 'artifacts')).href);
      for (const sub of ['params', 'metrics', 'tags']) for (const k of readdirSync(path.join(runDir, sub))) assert.match(k, VALID_NAME, `${sub}/${k}`);
      const tag = (k: string): string => readFileSync(path.join(runDir, 'tags', k), 'utf8');
      assert.equal(tag('mlflow.runName'), report.models[i]!.model);
      assert.equal(tag('mlflow.source.type'), 'LOCAL');
      assert.deepEqual(readdirSync(path.join(runDir, 'artifacts')).sort(), ['confusion-music_2.0.png', 'report.json']);
    }

    const runDir = path.join(root, '0', runs[0]!.runId);
    const param = (k: string): string => readFileSync(path.join(runDir, 'params', k), 'utf8');
    assert.equal(param('model_version'), '2.0');
    assert.equal(param('archive_sha256'), 'ef'.repeat(32));
    assert.equal(param('server_version'), '0.1.0');
    assert.equal(param('where'), 'taxonomy=music');
    // Metrics: "<timestamp ms> <value> <step>\n", the value as Python's float() reads it.
    const metric = (k: string): string => readFileSync(path.join(runDir, 'metrics', k), 'utf8');
    for (const k of readdirSync(path.join(runDir, 'metrics'))) assert.match(metric(k), /^1700000005000 -?\d+(\.\d+)?(e-?\d+)? 0\n$/, k);
    // accuracy 3/5 (one jazz and both rocks right); rock: predicted 3 times, right twice, precision 2/3.
    assert.equal(metric('accuracy'), '1700000005000 0.6 0\n');
    assert.equal(Number(metric('precision.rock').split(' ')[1]), 2 / 3);
    assert.equal(mlflowKey('f1.(none)'), 'f1._none_');
    assert.ok(readdirSync(path.join(runDir, 'metrics')).includes('f1._none_'));
    const failedRun = path.join(root, '0', runs[1]!.runId);
    assert.deepEqual(readdirSync(path.join(failedRun, 'metrics')).sort(), ['rows_answered', 'rows_failed']);
    assert.equal(readFileSync(path.join(failedRun, 'tags', 'ortserve.error'), 'utf8'), 'model nope: the server answered 404');
  });

  it('adds runs to an existing store without touching its experiment', () => {
    const root = path.join(dir, 'mlruns');
    const before = readFileSync(path.join(root, '0', 'meta.yaml'), 'utf8');
    const runs = writeMlflowRuns(root, { ...report, models: [good] }, path.join(dir, 'report'), 1_800_000_000_000, 1_800_000_000_001);
    assert.equal(readFileSync(path.join(root, '0', 'meta.yaml'), 'utf8'), before);
    assert.equal(readdirSync(path.join(root, '0')).filter((d) => d !== 'meta.yaml').length, 3);
    assert.match(runs[0]!.runId, /^[0-9a-f]{32}$/);
  });
});
