/**
 * The columns a model's answers add to the input rows: `predicted_<model>` and `score_<model>`,
 * `top_<model>` (every label asked for, with its score) when more than one label was asked for, and
 * `error_<model>` when some rows failed. Used by `predict` for its output and by `evaluate` for the
 * report's predictions.csv.
 */
import type { RowOutcome } from '../client/batch-classify.js';
import { DataError, type Row } from './dataset.js';

export interface PredictionColumnOptions {
  /** Add `top_<model>` with the whole list. */
  topList: boolean;
}

export interface RowsWithColumns {
  columns: string[];
  rows: Row[];
}

/** New rows (the inputs are not changed) with the model's columns added after the existing ones. */
export function addPredictionColumns(input: RowsWithColumns, model: string, outcomes: readonly RowOutcome[], o: PredictionColumnOptions): RowsWithColumns {
  if (outcomes.length !== input.rows.length) throw new Error(`${outcomes.length} answers for ${input.rows.length} rows`);
  const predicted = `predicted_${model}`;
  const score = `score_${model}`;
  const top = `top_${model}`;
  const error = `error_${model}`;
  const anyError = outcomes.some((x) => !x.ok);
  const added = [predicted, score, ...(o.topList ? [top] : []), ...(anyError ? [error] : [])];
  const clash = added.find((c) => input.columns.includes(c));
  if (clash !== undefined) throw new DataError(`the data already has a column "${clash}" (the output of an earlier run?)`);
  const rows = input.rows.map((row, i) => {
    const outcome = outcomes[i] as RowOutcome;
    const out: Row = { ...row };
    if (outcome.ok) {
      const best = outcome.predictions[0];
      out[predicted] = best?.label ?? null;
      out[score] = best?.score ?? null;
      if (o.topList) out[top] = outcome.predictions;
      if (anyError) out[error] = null;
    } else {
      out[predicted] = null;
      out[score] = null;
      if (o.topList) out[top] = null;
      out[error] = outcome.error;
    }
    return out;
  });
  return { columns: [...input.columns, ...added], rows };
}
