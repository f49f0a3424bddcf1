/**
 * Writes an evaluation's report folder: report.json (every number), report.md and report.html (the
 * same tables), comparison.svg and one confusion-<model>.svg per model, and predictions.csv (each
 * evaluated row with every model's answer, for looking at the errors).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { classificationReport } from './classification-report.js';
import { comparisonChartSpec, confusionMatrixSpec, renderSvg } from './charts.js';
import { writeDataset } from './dataset.js';
import type { RowsWithColumns } from './prediction-columns.js';
import { svgToPng } from './png.js';
import { comparedValues, imageNames, pngName, reportDocument } from './report-document.js';
import { renderHtml, renderMarkdown } from './report-render.js';
import type { EvaluationReport } from './run-evaluation.js';

export interface WrittenReport {
  dir: string;
  /** Every file written, relative to dir. */
  files: string[];
}

export async function writeReport(dir: string, report: EvaluationReport, predictions: RowsWithColumns): Promise<WrittenReport> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string | Buffer): void => {
    writeFileSync(path.join(dir, name), content);
    files.push(name);
  };
  const images = imageNames(report.models.map((m) => m.model));
  const compared = comparedValues(report.models);
  if (compared.length > 0) write(images.comparison, await renderSvg(comparisonChartSpec(compared)));
  const confusion: Record<string, string> = {};
  for (const m of report.models) {
    const file = images.confusion.get(m.model);
    if (m.metrics === null || file === undefined) continue;
    const svg = await renderSvg(confusionMatrixSpec(`Confusion matrix: ${m.model}`, m.metrics.labels, m.metrics.matrix));
    write(file, svg);
    write(pngName(file), svgToPng(svg));
    confusion[m.model] = file;
  }
  const blocks = reportDocument(report, images);
  const reports = Object.fromEntries(report.models.flatMap((m) => (m.metrics ? [[m.model, classificationReport(m.metrics)]] : [])));
  const json = { ...report, classificationReports: reports, images: { comparison: compared.length > 0 ? images.comparison : null, confusion } };
  write('report.json', JSON.stringify(json, null, 2) + '\n');
  write('report.md', renderMarkdown(blocks));
  write('report.html', renderHtml(blocks, 'Evaluation report'));
  writeDataset(path.join(dir, 'predictions.csv'), 'csv', predictions.columns, predictions.rows);
  files.push('predictions.csv');
  return { dir, files };
}
