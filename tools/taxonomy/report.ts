/** The metrics table the training prints, from the same metrics code as `ortserve evaluate`. */
import { classificationMetrics, type ClassificationMetrics } from '../../src/evaluation/metrics.js';

export function classificationReport(p: { actual: string[]; predicted: string[] }): ClassificationMetrics {
  return classificationMetrics(p.actual, p.predicted);
}

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;

export function formatSummaryTable(rows: Array<{ name: string; report: ClassificationMetrics }>): string {
  const lines = ['| split | n | accuracy | balanced accuracy | MCC | macro-F1 |', '| --- | --- | --- | --- | --- | --- |'];
  for (const { name, report: r } of rows) {
    lines.push(`| ${name} | ${r.total} | ${pct(r.accuracy)} | ${pct(r.balancedAccuracy)} | ${r.mcc.toFixed(3)} | ${pct(r.macroF1)} |`);
  }
  return lines.join('\n');
}
