/**
 * `ortserve predict`: batch prediction of a CSV or JSONL file through one or more models of a running
 * server, writing the input rows back with each model's label and score (see docs/evaluate.md).
 */
import path from 'node:path';
import { BatchAbortedError, classifyAll, type BatchResult, type RowOutcome } from '../client/batch-classify.js';
import { EXIT_MODEL_FAILED } from '../evaluation/exit-codes.js';
import { COMMON_HELP, COMMON_OPTIONS, makeClient, parseCommand, positiveInt, readCommonSettings, runCommand, UsageError } from '../evaluation/cli-common.js';
import { formatOf, readDataset, writeDataset } from '../evaluation/dataset.js';
import { addPredictionColumns, type RowsWithColumns } from '../evaluation/prediction-columns.js';
import { resolveTextColumns, rowText, selectRows } from '../evaluation/row-select.js';
import { NOT_ROUTED, parseRoutes, routedRows } from '../evaluation/routing.js';

export const PREDICT_USAGE = `usage: ortserve predict FILE -m MODEL [-m MODEL ...] [-o OUT] [--top-k K] [options]

Sends every row of a CSV or JSONL file to each model of a running server and writes the rows back,
in the same format, with the columns predicted_<model> and score_<model> added (top_<model> with
--top-k above 1; error_<model> when some rows failed).

options:
  -o, --out FILE              the output file, .csv or .jsonl (default FILE.predictions.csv or .jsonl,
                              next to FILE)
  --top-k K                   also write the K best labels with their scores in top_<model> (default 1:
                              the best label only)
  --route MODEL=LABEL         send MODEL only the rows the first -m model labelled LABEL (the others
                              get empty columns for it); repeat for more labels or models

${COMMON_HELP}

Exit status: 0 when every row sent was answered; 1 on a server, network or file error or when some
rows failed (the file is written all the same); 2 on a usage error; 3 when a model could not answer
at all (unknown model, refused key, an answer without labels): the file is written with the other
models' columns, and that model's error_<model> column says why.

examples:
  ortserve predict listings.csv -m taxonomy
  ortserve predict listings.jsonl -m taxonomy -m music --top-k 3 -o listings.labelled.jsonl --concurrency 8
  ortserve predict listings.csv -m taxonomy -m music_subtaxonomy --route music_subtaxonomy=music
  ortserve predict listings.csv -m events --field taxonomy
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  out: { type: 'string', short: 'o' },
  'top-k': { type: 'string' },
  route: { type: 'string', multiple: true },
} as const;

/** `data/x.csv` → `data/x.predictions.csv`. */
function defaultOut(file: string): string {
  const ext = path.extname(file);
  return path.join(path.dirname(file), `${path.basename(file, ext)}.predictions${ext}`);
}

export function runPredict(argv: string[]): Promise<number> {
  return runCommand('predict', async () => {
    const { values, positionals } = parseCommand(argv, OPTIONS);
    if (values.help) {
      console.log(PREDICT_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('name exactly one input file (.csv or .jsonl)');
    const input = positionals[0] as string;
    const settings = readCommonSettings(values, process.cwd());
    const topK = positiveInt('--top-k', values['top-k'], 1, 1);
    const out = values.out ?? defaultOut(input);
    const outFormat = formatOf(out, () => new UsageError(`--out ${out}: expected a .csv or .jsonl file name`));
    if (path.resolve(out) === path.resolve(input)) throw new UsageError('--out would overwrite the input file');
    const routes = parseRoutes(values.route ?? [], settings.models);

    const data = readDataset(input);
    const textColumns = resolveTextColumns(settings.textColumns, data.columns);
    const rows = selectRows(data.rows, settings.where, data.columns);
    const texts = rows.map((r) => rowText(r, textColumns));
    // Rows without text are not sent: they fail here, as the server would refuse them.
    const sent = texts.flatMap((t, i) => (t === '' ? [] : [i]));

    const client = makeClient('predict', settings);
    let result: RowsWithColumns = { columns: data.columns, rows };
    const failed: number[] = [];
    const broken: string[] = [];
    let firstOutcomes: RowOutcome[] = [];
    try {
      for (const [m, model] of settings.models.entries()) {
        const routedLabels = routes.get(model);
        // Rows this model is sent: every row with text, or those the first model routed to it.
        const targets = routedLabels === undefined ? sent : routedRows(firstOutcomes, routedLabels).filter((i) => texts[i] !== '');
        let batch: BatchResult;
        try {
          batch = await classifyAll(client, model, targets.map((i) => texts[i] as string), { concurrency: settings.concurrency, topK, label: 'predict', field: settings.field });
        } catch (err) {
          if (!(err instanceof BatchAbortedError)) throw err;
          // The other models' columns are still written; this one's error column says why it has none.
          broken.push(err.message);
          batch = { model, outcomes: targets.map(() => ({ ok: false, error: err.message })), wallMs: 0 };
        }
        const outcomes: RowOutcome[] = texts.map((t) => (routedLabels !== undefined ? NOT_ROUTED : { ok: false, error: t === '' ? 'empty text: nothing to send' : 'not sent' }));
        targets.forEach((row, k) => (outcomes[row] = batch.outcomes[k] as RowOutcome));
        if (m === 0) firstOutcomes = outcomes;
        failed.push(outcomes.filter((o) => !o.ok).length);
        result = addPredictionColumns(result, model, outcomes, { topList: topK > 1 });
      }
    } finally {
      client.close();
    }
    writeDataset(out, outFormat, result.columns, result.rows);

    const totalFailed = failed.reduce((a, b) => a + b, 0);
    console.log(`Wrote ${result.rows.length} rows with the predictions of ${settings.models.join(', ')} to ${out}`);
    if (client.retried > 0) console.error(`ortserve predict: ${client.retried} requests were retried`);
    for (const why of broken) console.error(`ortserve predict: ${why}`);
    if (broken.length > 0) return EXIT_MODEL_FAILED;
    if (totalFailed > 0) {
      const detail = settings.models.map((m, i) => `${m}: ${failed[i]}`).join(', ');
      console.error(`ortserve predict: rows without a prediction (${detail}); see the error_<model> columns`);
      return 1;
    }
    return 0;
  });
}
