/**
 * `ortserve evaluate`: sends a labelled data file through one or more models of a running server and
 * writes a report folder comparing them (see docs/evaluate.md).
 */
import path from 'node:path';
import { describeServedModel, IdentityError, serverVersion } from '../client/model-identity.js';
import { KeyFileError, resolveManagementToken } from '../client/token.js';
import { COMMON_HELP, COMMON_OPTIONS, makeClient, parseCommand, readCommonSettings, runCommand, UsageError } from '../evaluation/cli-common.js';
import { DataError, readDatasets, type Row } from '../evaluation/dataset.js';
import { EXIT_MODEL_FAILED } from '../evaluation/exit-codes.js';
import { writeMlflowRuns } from '../evaluation/mlflow-store.js';
import { claimReportDir } from '../evaluation/out-dir.js';
import { addPredictionColumns, type RowsWithColumns } from '../evaluation/prediction-columns.js';
import { reportDocument, imageNames } from '../evaluation/report-document.js';
import { renderMarkdown } from '../evaluation/report-render.js';
import { writeReport } from '../evaluation/report-writer.js';
import { requireColumns, resolveTextColumns, rowText, selectRows, cellText } from '../evaluation/row-select.js';
import { evaluateModels, type Describer, type EvaluationReport } from '../evaluation/run-evaluation.js';

export const DEFAULT_MANAGEMENT_URL = 'http://127.0.0.1:8081';


export const EVALUATE_USAGE = `usage: ortserve evaluate FILE [FILE ...] -m MODEL [-m MODEL ...] [--label-column COLUMN] [-o DIR] [options]

Sends every row of labelled CSV or JSONL files to each model of a running server (one model after the
other) and writes a report folder: report.json, report.md, report.html, a confusion matrix per model
(confusion-<model>.svg and .png), a chart comparing the models (comparison.svg) and predictions.csv.
Each model's version and archive SHA-256 are read from the management API's describe.

options:
  --label-column COLUMN       the column holding the expected label (default "label")
  -o, --out DIR               the report folder, which must be missing or empty (default: a new
                              folder reports/evaluate-<date>T<time>)
  --overwrite                 write over the report already in --out (its other files stay)
  --management-url URL        the management address, for describe (default ${DEFAULT_MANAGEMENT_URL})
  --management-token KEY      the management key (default: from --key-file or ./key_file.json)
  --mlflow-dir DIR            also write the evaluation as MLflow runs (one per model) in MLflow's
                              file-store layout under DIR (mlflow ui --backend-store-uri DIR)

${COMMON_HELP}

Exit status: 0 when every model answered every row; 1 on a server, network or file error or when
some rows failed; 2 on a usage error; 3 when a model could not be evaluated at all (unknown model,
refused key, an answer without labels): the report is written for the others and says why.

examples:
  ortserve evaluate test.csv -m taxonomy --label-column taxonomy
  ortserve evaluate test.csv -m taxonomy -m events --field taxonomy --label-column taxonomy
  ortserve evaluate test.csv -m tinybert -m bert-mini -m distilbert --label-column taxonomy -o reports/compare
  ortserve evaluate test.jsonl -m music/2.0 --where taxonomy=music --label-column subtaxonomy --mlflow-dir mlruns
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'label-column': { type: 'string' },
  out: { type: 'string', short: 'o' },
  'management-url': { type: 'string' },
  'management-token': { type: 'string' },
  'mlflow-dir': { type: 'string' },
  overwrite: { type: 'boolean' },
} as const;

/**
 * The management key for describe. A key file without a management entry (one written by hand for the
 * inference API only) is not an error here: describe then fails, which evaluate reports and survives.
 */
function managementKey(token: string | undefined, keyFile: string | undefined): string | null {
  try {
    return resolveManagementToken({ token, keyFile, cwd: process.cwd() });
  } catch (err) {
    if (err instanceof KeyFileError) return null;
    throw err;
  }
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
    const managementUrl = values['management-url'] ?? DEFAULT_MANAGEMENT_URL;
    if (!/^https?:\/\/[^/]+/.test(managementUrl)) throw new UsageError(`--management-url ${managementUrl}: expected http://host:port or https://host:port`);
    const managementToken = managementKey(values['management-token'], values['key-file']);

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
    // Claimed before the requests, so that a taken --out is refused before minutes of work.
    if (values.overwrite && values.out === undefined) throw new UsageError('--overwrite needs --out (a new timestamped folder is made otherwise)');
    const out = claimReportDir(values.out, process.cwd(), new Date(), values.overwrite ?? false);

    const describe: Describer = async (model) => {
      try {
        return { served: await describeServedModel(managementUrl, managementToken, model) };
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err;
        console.error(`ortserve evaluate: model ${model}: cannot read its version and archive from the management API: ${err.message}`);
        return { error: err.message };
      }
    };
    const version = await serverVersion(settings.url, settings.token).catch((err: unknown) => {
      if (!(err instanceof IdentityError)) throw err;
      console.error(`ortserve evaluate: cannot read the server's version: ${err.message}`);
      return null;
    });

    const started = Date.now();
    const client = makeClient('evaluate', settings);
    const run = await evaluateModels(client, settings.models, texts, labels, { concurrency: settings.concurrency, field: settings.field }, describe).finally(() => client.close());
    const classCounts: Record<string, number> = {};
    for (const l of labels) classCounts[l] = (classCounts[l] ?? 0) + 1;
    const report: EvaluationReport = {
      createdAt: new Date().toISOString(),
      server: settings.url,
      serverVersion: version,
      field: settings.field?.join('.') ?? null,
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
    if (values['mlflow-dir'] !== undefined) {
      const runs = writeMlflowRuns(values['mlflow-dir'], report, out, started, Date.now());
      console.log(`MLflow runs written to ${path.resolve(values['mlflow-dir'])}: ${runs.map((r) => `${r.model} (${r.runId})`).join(', ')}`);
    }

    // The summary table on stdout: the report's first table.
    const summary = reportDocument(report, imageNames(settings.models)).find((b) => b.kind === 'table');
    if (summary) process.stdout.write(renderMarkdown([summary]));
    console.log(`\nReport written to ${path.join(out, 'report.md')} (and report.json, report.html, SVG and PNG images)`);
    if (client.retried > 0) console.error(`ortserve evaluate: ${client.retried} requests were retried`);
    const broken = run.models.filter((m) => m.error !== null);
    for (const m of broken) console.error(`ortserve evaluate: ${m.error}`);
    if (broken.length > 0) {
      console.error(`ortserve evaluate: ${broken.length} of ${run.models.length} models could not be evaluated (${broken.map((m) => m.model).join(', ')}); the report covers the others`);
      return EXIT_MODEL_FAILED;
    }
    const failed = run.models.reduce((n, m) => n + m.failed, 0);
    if (failed > 0) {
      console.error(`ortserve evaluate: ${failed} requests failed; they are listed in the report and left out of the metrics`);
      return 1;
    }
    return 0;
  });
}
