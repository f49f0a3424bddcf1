/**
 * One evaluation: the same texts through each model in turn (one model at a time, so that the models'
 * latencies are not measured while they compete for the same cores), then metrics per model.
 */
import { classifyAll, type RowOutcome } from '../client/batch-classify.js';
import type { InferenceClient } from '../client/inference-client.js';
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
  model: string;
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

export async function evaluateModels(
  client: InferenceClient,
  models: readonly string[],
  texts: readonly string[],
  actual: readonly string[],
  concurrency: number,
): Promise<EvaluationRun> {
  const evaluations: ModelEvaluation[] = [];
  const predictions: RowPredictions = new Map();
  for (const model of models) {
    const batch = await classifyAll(client, model, texts, { concurrency, topK: 1, label: 'evaluate' });
    const gold: string[] = [];
    const guessed: string[] = [];
    const latencies: number[] = [];
    const failures: RowFailure[] = [];
    batch.outcomes.forEach((o, row) => {
      if (!o.ok) {
        failures.push({ row, error: o.error });
        return;
      }
      const best = o.predictions[0] as { label: string; score: number };
      gold.push(actual[row] as string);
      guessed.push(best.label);
      latencies.push(o.latencyMs);
    });
    predictions.set(model, batch.outcomes);
    const wallSeconds = batch.wallMs / 1000;
    evaluations.push({
      model,
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
