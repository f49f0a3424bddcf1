/**
 * The report's content, once, as a list of blocks (headings, paragraphs, tables, images) that
 * report-render.ts turns into Markdown and HTML. Models stand side by side: one column per model.
 */
import { COMPARED_METRICS, type ComparedModel } from './charts.js';
import { classificationReport } from './classification-report.js';
import type { ClassificationMetrics } from './metrics.js';
import type { EvaluationReport, ModelEvaluation } from './run-evaluation.js';

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'table'; header: string[]; rows: string[][] }
  | { kind: 'image'; src: string; alt: string }
  | { kind: 'list'; items: string[] };

export interface ReportImages {
  comparison: string;
  /** Model → confusion-matrix file name (SVG; the PNG has the same name ending in .png). */
  confusion: Map<string, string>;
}

/** `x.svg` → `x.png`. */
export const pngName = (svgName: string): string => svgName.replace(/\.svg$/, '.png');

export const COMPARISON_IMAGE = 'comparison.svg';

/** `confusion-<model>.svg`, with `/` and other unsafe characters replaced, unique per model. */
export function imageNames(models: readonly string[]): ReportImages {
  const confusion = new Map<string, string>();
  const used = new Set<string>();
  for (const model of models) {
    const base = `confusion-${model.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    let name = `${base}.svg`;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}.svg`;
    used.add(name);
    confusion.set(model, name);
  }
  return { comparison: COMPARISON_IMAGE, confusion };
}

const fixed = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const metric = (m: ClassificationMetrics | null, pick: (m: ClassificationMetrics) => number): string => (m ? fixed(pick(m), 3) : '–');

/** The headline numbers of the comparison chart. */
export function comparedValues(models: readonly ModelEvaluation[]): ComparedModel[] {
  return models
    .filter((m) => m.metrics !== null)
    .map((m) => {
      const x = m.metrics as ClassificationMetrics;
      const values = { accuracy: x.accuracy, 'balanced accuracy': x.balancedAccuracy, MCC: x.mcc, 'macro-F1': x.macroF1 };
      return { model: m.model, values: values satisfies Record<(typeof COMPARED_METRICS)[number], number> };
    });
}

function summaryTable(models: readonly ModelEvaluation[]): Block {
  const row = (name: string, cell: (m: ModelEvaluation) => string): string[] => [name, ...models.map(cell)];
  return {
    kind: 'table',
    header: ['', ...models.map((m) => m.model)],
    rows: [
      row('version', (m) => m.served?.version ?? '–'),
      row('archive SHA-256', (m) => m.served?.archiveSha256?.slice(0, 12) ?? '–'),
      row('status', (m) => (m.error === null ? 'evaluated' : 'failed')),
      row('rows answered', (m) => String(m.answered)),
      row('rows failed', (m) => String(m.failed)),
      row('accuracy', (m) => metric(m.metrics, (x) => x.accuracy)),
      row('balanced accuracy', (m) => metric(m.metrics, (x) => x.balancedAccuracy)),
      row('MCC', (m) => metric(m.metrics, (x) => x.mcc)),
      row('macro-F1', (m) => metric(m.metrics, (x) => x.macroF1)),
      row('macro precision', (m) => metric(m.metrics, (x) => x.macroPrecision)),
      row('macro recall', (m) => metric(m.metrics, (x) => x.macroRecall)),
      row('weighted F1', (m) => metric(m.metrics, (x) => x.weightedF1)),
      row('latency p50 (ms)', (m) => fixed(m.latencyMs.p50, 1)),
      row('latency p90 (ms)', (m) => fixed(m.latencyMs.p90, 1)),
      row('latency p99 (ms)', (m) => fixed(m.latencyMs.p99, 1)),
      row('throughput (rows/s)', (m) => fixed(m.rowsPerSecond, 1)),
    ],
  };
}

function perClassTable(report: EvaluationReport): Block {
  const classes = new Set(Object.keys(report.dataset.classCounts));
  for (const m of report.models) for (const l of m.metrics?.labels ?? []) classes.add(l);
  const header = ['class', 'support'];
  for (const m of report.models) header.push(`${m.model} P`, `${m.model} R`, `${m.model} F1`);
  const rows = [...classes].sort().map((label) => {
    const cells = [label, String(report.dataset.classCounts[label] ?? 0)];
    for (const m of report.models) {
      const c = m.metrics?.perClass.find((p) => p.label === label);
      cells.push(c ? fixed(c.precision, 3) : '–', c ? fixed(c.recall, 3) : '–', c ? fixed(c.f1, 3) : '–');
    }
    return cells;
  });
  return { kind: 'table', header, rows };
}

/** scikit-learn's classification_report of one model, as a table. */
function classificationReportTable(m: ClassificationMetrics): Block {
  const r = classificationReport(m);
  const line = (name: string, p: number, rc: number, f: number, support: number): string[] => [name, fixed(p, 3), fixed(rc, 3), fixed(f, 3), String(support)];
  return {
    kind: 'table',
    header: ['', 'precision', 'recall', 'f1-score', 'support'],
    rows: [
      ...r.classes.map((c) => line(c.name, c.precision, c.recall, c.f1, c.support)),
      ['accuracy', '', '', fixed(r.accuracy, 3), String(r.support)],
      line(r.macroAvg.name, r.macroAvg.precision, r.macroAvg.recall, r.macroAvg.f1, r.support),
      line(r.weightedAvg.name, r.weightedAvg.precision, r.weightedAvg.recall, r.weightedAvg.f1, r.support),
    ],
  };
}

function describeModels(report: EvaluationReport): Block {
  const items = report.models.map((m) => {
    const s = m.served;
    const identity = s ? `${s.name} version ${s.version}, archive SHA-256 ${s.archiveSha256 ?? 'unknown'} (${s.url})` : `not described (${m.describeError ?? 'unknown'})`;
    return `${m.model}: ${identity}${m.error === null ? '' : `. Not evaluated: ${m.error}`}`;
  });
  return { kind: 'list', items };
}

function describeData(report: EvaluationReport): string {
  const d = report.dataset;
  const where = d.where.length ? `, where ${d.where.map((w) => `${w.column}=${w.value}`).join(' and ')}` : '';
  const skipped = d.skipped ? ` ${d.skipped} rows were left out for an empty label or text.` : '';
  const files = d.files.length <= 3 ? d.files.join(', ') : `${d.files.length} files (${d.files[0]}, …, ${d.files[d.files.length - 1]})`;
  return (
    `${d.evaluated} rows of ${files} (label column "${d.labelColumn}", text from ${d.textColumns.join(' + ')}${where}).${skipped} ` +
    `${report.field === null ? '' : `Labels read from the answers' field "${report.field}". `}` +
    `Sent to ${report.server} (server version ${report.serverVersion ?? 'unknown'}), ${report.concurrency} requests at a time, one model after the other, on ${report.createdAt}. ` +
    'Latency is per request as the client saw it (queueing on the server included, retries excluded).'
  );
}

export function reportDocument(report: EvaluationReport, images: ReportImages): Block[] {
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: 'Evaluation report' },
    { kind: 'paragraph', text: describeData(report) },
    describeModels(report),
    { kind: 'heading', level: 2, text: 'Summary' },
    summaryTable(report.models),
  ];
  if (comparedValues(report.models).length > 0) blocks.push({ kind: 'image', src: images.comparison, alt: 'Models compared: accuracy, balanced accuracy, MCC and macro-F1' });
  blocks.push({ kind: 'heading', level: 2, text: 'Per class (precision, recall, F1)' }, perClassTable(report));
  for (const m of report.models) {
    if (m.metrics === null) continue;
    blocks.push({ kind: 'heading', level: 3, text: `Classification report: ${m.model}` }, classificationReportTable(m.metrics));
  }
  blocks.push({ kind: 'heading', level: 2, text: 'Confusion matrices' });
  for (const m of report.models) {
    const src = images.confusion.get(m.model);
    blocks.push({ kind: 'heading', level: 3, text: m.model });
    if (m.metrics && src) blocks.push({ kind: 'image', src, alt: `Confusion matrix of ${m.model}` });
    else blocks.push({ kind: 'paragraph', text: m.error === null ? 'No row was answered.' : `Not evaluated: ${m.error}` });
  }
  const failures = report.models.flatMap((m) => m.failures.map((f) => `${m.model}, row ${f.row + 1}: ${f.error}`));
  if (failures.length > 0) {
    blocks.push({ kind: 'heading', level: 2, text: 'Failed rows' }, { kind: 'list', items: failures });
  }
  return blocks;
}
