/**
 * One evaluation: the same texts through each model in turn (one model at a time, so that the models'
 * latencies are not measured while they compete for the same cores), then metrics per model.
 */
import { BatchAbortedError, classifyAll, type BatchResult, type RowOutcome } from '../client/batch-classify.js';
import type { InferenceClient } from '../client/inference-client.js';
import type { ServedModel } from '../client/model-identity.js';
import { summarizeLatency, type LatencySummary } from './latency.js';
import { classificationMetrics, type ClassificationMetrics } from './metrics.js';
import type { RowFilter } from './row-select.js';

export interface DatasetSummary {
  files: string[];
  labelColumn: string;
  textColumns: string[];
  where: RowFilter[];
  /** Rows read from the files. */
  read: number;
  /** Rows sent to each model (kept by --where, with a label and a text). */
  evaluated: number;
  /** Rows kept by --where but left out for an empty label or text. */
  skipped: number;
  /** Actual label → evaluated rows with it. */
  classCounts: Record<string, number>;
}

export interface RowFailure {
  /** 0-based index among the evaluated rows. */
  row: number;
  error: string;
}

export interface ModelEvaluation {
  /** As given with -m: `name` or `name/version`. */
  model: string;
  /** The version that answered and its archive (management describe); null when describe failed. */
  served: ServedModel | null;
  /** Why describe failed, when it did. */
  describeError?: string;
  /**
   * Why the model could not be evaluated at all (unknown model, refused key, an answer without labels);
   * null when it was. The other models are evaluated all the same.
   */
  error: string | null;
  /** Rows the server answered; the metrics are over these. */
  answered: number;
  failed: number;
  /** The first failures (at most 20). */
  failures: RowFailure[];
  /** null when no row was answered. */
  metrics: ClassificationMetrics | null;
  latencyMs: LatencySummary;
  wallSeconds: number;
  rowsPerSecond: number;
}

export interface EvaluationReport {
  createdAt: string;
  server: string;
  /** The server's own version (its API description); null when it could not be read. */
  serverVersion: string | null;
  /** `--field`, when the labels were taken from a field of an object answer. */
  field: string | null;
  concurrency: number;
  dataset: DatasetSummary;
  models: ModelEvaluation[];
}

/** Per model, the answer for each evaluated row, in row order. */
export type RowPredictions = Map<string, RowOutcome[]>;

export interface EvaluationRun {
  models: ModelEvaluation[];
  predictions: RowPredictions;
}

const MAX_LISTED_FAILURES = 20;

/**
 * The predicted label of a row whose answer held null in `--field` (no label given, as `events` gives
 * no sub-taxonomy outside music): counted as a class of its own, so that those rows stay in the metrics.
 */
export const NO_LABEL = '(none)';

export interface EvaluationOptions {
  concurrency: number;
  field: readonly string[] | null;
}

/** Describes each model before it is evaluated: what was served, or why that could not be read. */
export type Describer = (model: string) => Promise<{ served: ServedModel } | { error: string }>;

export async function evaluateModels(
  client: InferenceClient,
  models: readonly string[],
  texts: readonly string[],
  actual: readonly string[],
  options: EvaluationOptions,
  describe: Describer,
): Promise<EvaluationRun> {
  const evaluations: ModelEvaluation[] = [];
  const predictions: RowPredictions = new Map();
  for (const model of models) {
    const identity = await describe(model);
    const served = 'served' in identity ? identity.served : null;
    const describeError = 'error' in identity ? { describeError: identity.error } : {};
    let batch: BatchResult;
    try {
      batch = await classifyAll(client, model, texts, { concurrency: options.concurrency, topK: 1, label: 'evaluate', field: options.field });
    } catch (err) {
      if (!(err instanceof BatchAbortedError)) throw err;
      // One model that cannot answer must not lose the others' reports.
      predictions.set(model, texts.map(() => ({ ok: false, error: err.message })));
      evaluations.push({
        model,
        served,
        ...describeError,
        error: err.message,
        answered: 0,
        failed: texts.length,
        failures: [],
        metrics: null,
        latencyMs: summarizeLatency([]),
        wallSeconds: 0,
        rowsPerSecond: 0,
      });
      continue;
    }
    const gold: string[] = [];
    const guessed: string[] = [];
    const latencies: number[] = [];
    const failures: RowFailure[] = [];
    batch.outcomes.forEach((o, row) => {
      if (!o.ok) {
        failures.push({ row, error: o.error });
        return;
      }
      gold.push(actual[row] as string);
      guessed.push(o.predictions[0]?.label ?? NO_LABEL);
      latencies.push(o.latencyMs);
    });
    predictions.set(model, batch.outcomes);
    const wallSeconds = batch.wallMs / 1000;
    evaluations.push({
      model,
      served,
      ...describeError,
      error: null,
      answered: gold.length,
      failed: failures.length,
      failures: failures.slice(0, MAX_LISTED_FAILURES),
      metrics: gold.length > 0 ? classificationMetrics(gold, guessed) : null,
      latencyMs: summarizeLatency(latencies),
      wallSeconds,
      rowsPerSecond: wallSeconds > 0 ? gold.length / wallSeconds : 0,
    });
  }
  return { models: evaluations, predictions };
}
