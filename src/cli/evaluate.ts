/**
 * `ortserve evaluate`: sends a labelled data file through one or more models of a running server and
 * writes a report folder comparing them (see docs/evaluate.md).
 */
import path from 'node:path';
import { COMMON_HELP, COMMON_OPTIONS, makeClient, parseCommand, readCommonSettings, runCommand, UsageError } from '../evaluation/cli-common.js';
import { DataError, readDatasets, type Row } from '../evaluation/dataset.js';
import { addPredictionColumns, type RowsWithColumns } from '../evaluation/prediction-columns.js';
import { reportDocument, imageNames } from '../evaluation/report-document.js';
import { renderMarkdown } from '../evaluation/report-render.js';
import { writeReport } from '../evaluation/report-writer.js';
import { requireColumns, resolveTextColumns, rowText, selectRows, cellText } from '../evaluation/row-select.js';
import { evaluateModels, type EvaluationReport } from '../evaluation/run-evaluation.js';

export const EVALUATE_USAGE = `usage: ortserve evaluate FILE [FILE ...] -m MODEL [-m MODEL ...] [--label-column COLUMN] [-o DIR] [options]

Sends every row of labelled CSV or JSONL files to each model of a running server (one model after the
other) and writes a report folder: report.json, report.md, report.html, a confusion matrix per model
(confusion-<model>.svg), a chart comparing the models (comparison.svg) and predictions.csv.

options:
  --label-column COLUMN       the column holding the expected label (default "label")
  -o, --out DIR               the report folder (default reports/evaluate-<date>T<time>)

${COMMON_HELP}

Exit status: 0 when every row was answered, 1 on a server, network or file error or when some rows
failed, 2 on a usage error.

examples:
  ortserve evaluate test.csv -m taxonomy --label-column taxonomy
  ortserve evaluate test.csv -m tinybert -m bert-mini -m distilbert --label-column taxonomy -o reports/compare
  ortserve evaluate test.jsonl -m music/2.0 --where taxonomy=music --label-column subtaxonomy
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'label-column': { type: 'string' },
  out: { type: 'string', short: 'o' },
} as const;

/** `reports/evaluate-2026-01-31T12-00-00` (local time, no colons: valid on every file system). */
function defaultOut(now: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}-${pad(now.getMinutes())}-${pad(now.getSeconds())}`;
  return path.join('reports', `evaluate-${stamp}`);
}

export function runEvaluate(argv: string[]): Promise<number> {
  return runCommand('evaluate', async () => {
    const { values, positionals } = parseCommand(argv, OPTIONS);
    if (values.help) {
      console.log(EVALUATE_USAGE);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('name at least one data file (.csv or .jsonl)');
    const settings = readCommonSettings(values, process.cwd());
    const labelColumn = values['label-column'] ?? 'label';
    const out = path.resolve(values.out ?? defaultOut(new Date()));

    const data = readDatasets(positionals);
    requireColumns([labelColumn], data.columns, '--label-column');
    const textColumns = resolveTextColumns(settings.textColumns, data.columns);
    const kept = selectRows(data.rows, settings.where, data.columns);
    const rows: Row[] = [];
    const texts: string[] = [];
    const labels: string[] = [];
    for (const row of kept) {
      const label = cellText(row[labelColumn]).trim();
      const text = rowText(row, textColumns);
      if (label === '' || text === '') continue;
      rows.push(row);
      texts.push(text);
      labels.push(label);
    }
    if (rows.length === 0) throw new DataError(`no row to evaluate: ${data.rows.length} read, ${kept.length} kept by --where, none with both a label and a text`);

    const client = makeClient('evaluate', settings);
    const run = await evaluateModels(client, settings.models, texts, labels, settings.concurrency).finally(() => client.close());
    const classCounts: Record<string, number> = {};
    for (const l of labels) classCounts[l] = (classCounts[l] ?? 0) + 1;
    const report: EvaluationReport = {
      createdAt: new Date().toISOString(),
      server: settings.url,
      concurrency: settings.concurrency,
      dataset: {
        files: positionals,
        labelColumn,
        textColumns,
        where: settings.where,
        read: data.rows.length,
        evaluated: rows.length,
        skipped: kept.length - rows.length,
        classCounts,
      },
      models: run.models,
    };
    let predictions: RowsWithColumns = { columns: data.columns, rows };
    for (const model of settings.models) {
      predictions = addPredictionColumns(predictions, model, run.predictions.get(model) ?? [], { topList: false });
    }
    await writeReport(out, report, predictions);

    // The summary table on stdout: the report's first table.
    const summary = reportDocument(report, imageNames(settings.models)).find((b) => b.kind === 'table');
    if (summary) process.stdout.write(renderMarkdown([summary]));
    console.log(`\nReport written to ${path.join(out, 'report.md')} (and report.json, report.html, SVG images)`);
    if (client.retried > 0) console.error(`ortserve evaluate: ${client.retried} requests were retried`);
    const failed = run.models.reduce((n, m) => n + m.failed, 0);
    if (failed > 0) {
      console.error(`ortserve evaluate: ${failed} requests failed; they are listed in the report and left out of the metrics`);
      return 1;
    }
    return 0;
  });
}
