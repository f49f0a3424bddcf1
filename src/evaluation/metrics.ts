/**
 * Classification metrics from actual and predicted labels. The confusion matrix and the per-class
 * counts, precision, recall, F1 and accuracy come from ml-confusion-matrix (mljs). Three aggregates are
 * computed here because that library has none of them: balanced accuracy and macro-F1 (plain means of
 * its per-class values) and the multi-class Matthews correlation (its MCC is one-vs-rest per class
 * only; the multi-class one is Gorodkin's R_K, the formula scikit-learn uses).
 *
 * Conventions are scikit-learn's, so numbers can be compared with a Python evaluation:
 * - the classes are the union of actual and predicted labels, sorted;
 * - a ratio whose denominator is 0 (precision of a class never predicted) counts as 0;
 * - balanced accuracy is the mean recall over the classes that occur in the actual labels;
 * - macro averages are over every class of the union;
 * - MCC is 0 when its denominator is 0 (every row in one actual or one predicted class).
 */
import { ConfusionMatrix } from 'ml-confusion-matrix';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Rows whose actual label is this class. */
  support: number;
  /** Rows predicted as this class. */
  predicted: number;
}

export interface ClassificationMetrics {
  /** Class order of the matrix and of perClass. */
  labels: string[];
  /** matrix[actual][predicted]: counts. */
  matrix: number[][];
  total: number;
  correct: number;
  accuracy: number;
  balancedAccuracy: number;
  mcc: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** Per-class values weighted by support (scikit-learn's average="weighted"). */
  weightedPrecision: number;
  weightedRecall: number;
  weightedF1: number;
  perClass: ClassMetrics[];
}

/** NaN (0/0) as 0, scikit-learn's zero_division default. */
const orZero = (x: number): number => (Number.isFinite(x) ? x : 0);
const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

const weighted = (classes: readonly ClassMetrics[], pick: (c: ClassMetrics) => number, total: number): number =>
  classes.reduce((sum, c) => sum + pick(c) * c.support, 0) / total;

export function classificationMetrics(actual: readonly string[], predicted: readonly string[]): ClassificationMetrics {
  if (actual.length !== predicted.length) throw new Error(`${actual.length} actual labels but ${predicted.length} predicted`);
  if (actual.length === 0) throw new Error('no rows to evaluate');
  const labels = [...new Set([...actual, ...predicted])].sort();
  const cm = ConfusionMatrix.fromLabels([...actual], [...predicted], { labels });
  const perClass: ClassMetrics[] = labels.map((label) => ({
    label,
    precision: orZero(cm.getPositivePredictiveValue(label)),
    recall: orZero(cm.getTruePositiveRate(label)),
    f1: orZero(cm.getF1Score(label)),
    support: cm.getPositiveCount(label),
    predicted: cm.getTruePositiveCount(label) + cm.getFalsePositiveCount(label),
  }));
  const total = cm.getTotalCount();
  const present = perClass.filter((c) => c.support > 0);
  const matrix = cm.getMatrix().map((row) => [...row]);
  return {
    labels,
    matrix,
    total,
    correct: cm.getTrueCount(),
    accuracy: cm.getAccuracy(),
    balancedAccuracy: mean(present.map((c) => c.recall)),
    mcc: gorodkinMcc(matrix),
    macroPrecision: mean(perClass.map((c) => c.precision)),
    macroRecall: mean(perClass.map((c) => c.recall)),
    macroF1: mean(perClass.map((c) => c.f1)),
    weightedPrecision: weighted(perClass, (c) => c.precision, total),
    weightedRecall: weighted(perClass, (c) => c.recall, total),
    weightedF1: weighted(perClass, (c) => c.f1, total),
    perClass,
  };
}

/**
 * Gorodkin's R_K for a K×K confusion matrix C (rows actual, columns predicted): with t_k the row sums,
 * p_k the column sums, c the trace and s the total,
 *   MCC = (c·s − Σ p_k·t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)).
 * For K = 2 it is the usual (TP·TN − FP·FN) / √(…).
 */
export function gorodkinMcc(matrix: readonly (readonly number[])[]): number {
  const k = matrix.length;
  const t = matrix.map((row) => row.reduce((a, b) => a + b, 0));
  const p = Array.from({ length: k }, (_, j) => matrix.reduce((sum, row) => sum + (row[j] ?? 0), 0));
  const s = t.reduce((a, b) => a + b, 0);
  const c = matrix.reduce((sum, row, i) => sum + (row[i] ?? 0), 0);
  const dot = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);
  const denominator = Math.sqrt((s * s - dot(p, p)) * (s * s - dot(t, t)));
  return denominator === 0 ? 0 : (c * s - dot(p, t)) / denominator;
}
