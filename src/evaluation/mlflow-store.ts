/**
 * `evaluate --mlflow-dir DIR`: the evaluation written as MLflow runs in MLflow's file-store layout (the
 * one `mlflow ui --backend-store-uri DIR` and `mlflow.set_tracking_uri("file:DIR")` read; MLflow's
 * mlflow/store/tracking/file_store.py), one run per model so that MLflow's run comparison shows the
 * models side by side:
 *
 *   DIR/.trash/
 *   DIR/0/meta.yaml                      the experiment ("Default", id 0), created when missing
 *   DIR/0/<run_id>/meta.yaml             the run: ids, name, times, status, artifact_uri
 *   DIR/0/<run_id>/params/<key>          one value, as text
 *   DIR/0/<run_id>/metrics/<key>         "<timestamp ms> <value> <step>" lines
 *   DIR/0/<run_id>/tags/<key>            mlflow.runName, mlflow.user, mlflow.source.* and ours
 *   DIR/0/<run_id>/artifacts/            the report folder's files
 *
 * MLflow itself is not needed to write it (and is not installable on the project's machines), so the
 * layout is written here; test/evaluation/mlflow-store.test.ts checks it against that format.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import type { EvaluationReport, ModelEvaluation } from './run-evaluation.js';

export const MLFLOW_EXPERIMENT_ID = '0';
/** MLflow's RunStatus and SourceType enum values, as meta.yaml stores them. */
const RUN_STATUS = { FINISHED: 3, FAILED: 4 } as const;
const SOURCE_TYPE_LOCAL = 4;
/** MLflow refuses longer param values (mlflow/utils/validation.py, MAX_PARAM_VAL_LENGTH). */
const MAX_PARAM_LENGTH = 6000;

/** A name MLflow accepts for a param, metric or tag: letters, digits, `_ - . : /` and spaces. */
export function mlflowKey(name: string): string {
  return name.replace(/[^\w.\- :/]/g, '_').replace(/^\/+/, '_');
}

/** MLflow writes its meta files with PyYAML's safe_dump: block style, keys sorted. */
const yamlOf = (o: Record<string, unknown>): string =>
  stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))), { lineWidth: 0 });

export interface WrittenRun {
  runId: string;
  model: string;
  dir: string;
}

function ensureExperiment(root: string, now: number): string {
  mkdirSync(path.join(root, '.trash'), { recursive: true });
  const dir = path.join(root, MLFLOW_EXPERIMENT_ID);
  if (!existsSync(path.join(dir, 'meta.yaml'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'meta.yaml'),
      yamlOf({
        artifact_location: pathToFileURL(dir).href,
        creation_time: now,
        experiment_id: MLFLOW_EXPERIMENT_ID,
        last_update_time: now,
        lifecycle_stage: 'active',
        name: 'Default',
      }),
    );
  }
  return dir;
}

function paramsOf(report: EvaluationReport, m: ModelEvaluation): Record<string, string> {
  const d = report.dataset;
  return {
    model: m.model,
    model_name: m.served?.name ?? m.model.split('/')[0] ?? m.model,
    model_version: m.served?.version ?? '',
    archive_sha256: m.served?.archiveSha256 ?? '',
    model_url: m.served?.url ?? '',
    server_url: report.server,
    server_version: report.serverVersion ?? '',
    data_files: d.files.join(','),
    label_column: d.labelColumn,
    text_columns: d.textColumns.join(','),
    where: d.where.map((w) => `${w.column}=${w.value}`).join(' and '),
    field: report.field ?? '',
    rows_evaluated: String(d.evaluated),
    concurrency: String(report.concurrency),
  };
}

function metricsOf(m: ModelEvaluation): Record<string, number> {
  const out: Record<string, number> = { rows_answered: m.answered, rows_failed: m.failed };
  const x = m.metrics;
  if (x !== null) {
    Object.assign(out, {
      accuracy: x.accuracy,
      balanced_accuracy: x.balancedAccuracy,
      mcc: x.mcc,
      macro_precision: x.macroPrecision,
      macro_recall: x.macroRecall,
      macro_f1: x.macroF1,
      weighted_precision: x.weightedPrecision,
      weighted_recall: x.weightedRecall,
      weighted_f1: x.weightedF1,
      latency_p50_ms: m.latencyMs.p50,
      latency_p90_ms: m.latencyMs.p90,
      latency_p99_ms: m.latencyMs.p99,
      throughput_rows_per_s: m.rowsPerSecond,
    });
    for (const c of x.perClass) {
      out[mlflowKey(`precision.${c.label}`)] = c.precision;
      out[mlflowKey(`recall.${c.label}`)] = c.recall;
      out[mlflowKey(`f1.${c.label}`)] = c.f1;
    }
  }
  return out;
}

function writeEntries(dir: string, entries: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  // A key with a `/` is a sub-folder in MLflow's layout.
  for (const [k, v] of Object.entries(entries)) {
    const file = path.join(dir, mlflowKey(k));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, v);
  }
}

/**
 * One run per model of `report`, with the report folder `reportDir` as each run's artifacts.
 * `started`/`ended` are the evaluation's wall-clock times (ms since the epoch).
 */
export function writeMlflowRuns(root: string, report: EvaluationReport, reportDir: string, started: number, ended: number): WrittenRun[] {
  const experimentDir = ensureExperiment(path.resolve(root), started);
  const artifacts = readdirSync(reportDir).filter((f) => !f.startsWith('.'));
  const user = safeUser();
  return report.models.map((m) => {
    const runId = randomUUID().replace(/-/g, '');
    const dir = path.join(experimentDir, runId);
    mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
    writeFileSync(
      path.join(dir, 'meta.yaml'),
      yamlOf({
        artifact_uri: pathToFileURL(path.join(dir, 'artifacts')).href,
        end_time: ended,
        entry_point_name: '',
        experiment_id: MLFLOW_EXPERIMENT_ID,
        lifecycle_stage: 'active',
        run_id: runId,
        run_name: m.model,
        run_uuid: runId,
        source_name: '',
        source_type: SOURCE_TYPE_LOCAL,
        source_version: '',
        start_time: started,
        status: m.error === null ? RUN_STATUS.FINISHED : RUN_STATUS.FAILED,
        tags: [],
        user_id: user,
      }),
    );
    const params = Object.fromEntries(Object.entries(paramsOf(report, m)).map(([k, v]) => [k, v.slice(0, MAX_PARAM_LENGTH)]));
    writeEntries(path.join(dir, 'params'), params);
    const metrics = Object.fromEntries(
      Object.entries(metricsOf(m))
        .filter(([, v]) => Number.isFinite(v))
        .map(([k, v]) => [k, `${ended} ${v} 0\n`]),
    );
    writeEntries(path.join(dir, 'metrics'), metrics);
    writeEntries(path.join(dir, 'tags'), {
      'mlflow.runName': m.model,
      'mlflow.user': user,
      'mlflow.source.name': 'ortserve evaluate',
      'mlflow.source.type': 'LOCAL',
      'ortserve.report': path.resolve(reportDir),
      ...(m.error === null ? {} : { 'ortserve.error': m.error }),
    });
    for (const f of artifacts) copyFileSync(path.join(reportDir, f), path.join(dir, 'artifacts', f));
    return { runId, model: m.model, dir };
  });
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
