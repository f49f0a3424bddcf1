/**
 * scikit-learn's `classification_report`: one row per class (precision, recall, F1, support), then
 * accuracy, the macro average (plain mean over the classes) and the weighted average (weighted by
 * support). The same rows, in the same order, as its `output_dict=True` form, so that a Python
 * evaluation and this report can be compared line by line.
 */
import type { ClassificationMetrics } from './metrics.js';

export interface ReportRow {
  /** A class, or `macro avg` / `weighted avg`. */
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  classes: ReportRow[];
  accuracy: number;
  /** Rows evaluated (the support of both averages). */
  support: number;
  macroAvg: ReportRow;
  weightedAvg: ReportRow;
}

export function classificationReport(m: ClassificationMetrics): ClassificationReport {
  return {
    classes: m.perClass.map((c) => ({ name: c.label, precision: c.precision, recall: c.recall, f1: c.f1, support: c.support })),
    accuracy: m.accuracy,
    support: m.total,
    macroAvg: { name: 'macro avg', precision: m.macroPrecision, recall: m.macroRecall, f1: m.macroF1, support: m.total },
    weightedAvg: { name: 'weighted avg', precision: m.weightedPrecision, recall: m.weightedRecall, f1: m.weightedF1, support: m.total },
  };
}
