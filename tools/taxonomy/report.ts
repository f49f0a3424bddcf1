/** The metrics table the training prints, from the same metrics code as `ortserve evaluate`. */
import { classificationMetrics } from '../../src/evaluation/metrics.js';

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;

/** One row per split: accuracy, balanced accuracy, MCC and macro-F1 of its predictions. */
export function formatSummaryTable(rows: Array<{ name: string; actual: string[]; predicted: string[] }>): string {
  const lines = ['| split | n | accuracy | balanced accuracy | MCC | macro-F1 |', '| --- | --- | --- | --- | --- | --- |'];
  for (const { name, actual, predicted } of rows) {
    const r = classificationMetrics(actual, predicted);
    lines.push(`| ${name} | ${r.total} | ${pct(r.accuracy)} | ${pct(r.balancedAccuracy)} | ${r.mcc.toFixed(3)} | ${pct(r.macroF1)} |`);
  }
  return lines.join('\n');
}
