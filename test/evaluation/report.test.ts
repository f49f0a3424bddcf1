/** The report folder: SVG charts rendered by Vega, Markdown and HTML tables, report.json. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { comparisonChartSpec, confusionMatrixSpec, renderSvg } from '../../src/evaluation/charts.js';
import { readDataset } from '../../src/evaluation/dataset.js';
import { summarizeLatency } from '../../src/evaluation/latency.js';
import { classificationMetrics } from '../../src/evaluation/metrics.js';
import { imageNames } from '../../src/evaluation/report-document.js';
import { writeReport } from '../../src/evaluation/report-writer.js';
import type { EvaluationReport, ModelEvaluation } from '../../src/evaluation/run-evaluation.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Text nodes of an SVG document, unescaped. */
const svgTexts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&lt;/g, '<'));

const actual = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c & d', 'c & d'];
const modelA: ModelEvaluation = {
  model: 'tiny',
  served: { name: 'tiny', version: '1.0', url: 'tiny.mar', archiveSha256: 'ab'.repeat(32) },
  error: null,
  answered: 10,
  failed: 0,
  failures: [],
  metrics: classificationMetrics(actual, ['a', 'a', 'a', 'b', 'a', 'a', 'b', 'b', 'b', 'c & d']),
  latencyMs: summarizeLatency([1, 2, 3, 4]),
  wallSeconds: 0.5,
  rowsPerSecond: 20,
};
const modelB: ModelEvaluation = {
  ...modelA,
  model: 'mini/2.0',
  served: { name: 'mini', version: '2.0', url: 'mini-2.mar', archiveSha256: 'cd'.repeat(32) },
  answered: 9,
  failed: 1,
  failures: [{ row: 9, error: '400 empty text' }],
  metrics: classificationMetrics(actual.slice(0, 9), ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'a', 'c & d']),
};
const report: EvaluationReport = {
  createdAt: '2026-01-31T12:00:00.000Z',
  server: 'http://127.0.0.1:8080',
  serverVersion: '0.1.0',
  field: null,
  concurrency: 4,
  dataset: { files: ['test.csv'], labelColumn: 'taxonomy', textColumns: ['title', 'description'], where: [], read: 12, evaluated: 10, skipped: 2, classCounts: { a: 4, b: 4, 'c & d': 2 } },
  models: [modelA, modelB],
};

describe('charts', () => {
  it('draws a confusion matrix with both axes labelled and a count in every cell', async () => {
    const m = modelA.metrics!;
    const svg = await renderSvg(confusionMatrixSpec('Confusion matrix: tiny', m.labels, m.matrix));
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const texts = svgTexts(svg);
    for (const label of m.labels) assert.equal(texts.filter((t) => t === label).length, 2, `"${label}" on both axes`);
    // matrix [[3,1,0],[2,2,0],[0,1,1]]: every cell's count is among the texts.
    const counts = texts.filter((t) => /^\d+$/.test(t));
    for (const n of m.matrix.flat()) assert.ok(counts.includes(String(n)), `count ${n} drawn`);
    assert.ok(texts.includes('Predicted') && texts.includes('Actual'), 'axis titles');
    assert.ok(texts.includes('Confusion matrix: tiny'));
  });

  it('draws a grouped bar chart with every model and every value', async () => {
    const svg = await renderSvg(
      comparisonChartSpec([
        { model: 'tiny', values: { accuracy: 0.7, 'balanced accuracy': 0.66, MCC: -0.2, 'macro-F1': 0.61 } },
        { model: 'mini', values: { accuracy: 0.9, 'balanced accuracy': 0.88, MCC: 0.8, 'macro-F1': 0.87 } },
      ]),
    );
    const texts = svgTexts(svg);
    for (const t of ['tiny', 'mini', 'accuracy', 'balanced accuracy', 'MCC', 'macro-F1', '0.70', '0.87']) {
      assert.ok(texts.includes(t), `"${t}" in the chart`);
    }
    assert.ok(texts.some((t) => /^[-\u2212]0\.20$/.test(t)), 'the negative MCC is drawn');
    assert.equal((svg.match(/<path[^>]*fill="#4c78a8"/g) ?? []).length + (svg.match(/<path[^>]*fill="#f58518"/g) ?? []).length >= 8, true, 'eight bars');
  });
});

describe('report folder', () => {
  it('writes report.json, report.md, report.html, the SVG images and predictions.csv', async () => {
    const out = path.join(dir, 'r1');
    const rows = actual.map((label, i) => ({ id: String(i), taxonomy: label, predicted_tiny: 'a' }));
    await writeReport(out, report, { columns: ['id', 'taxonomy', 'predicted_tiny'], rows });
    const names = imageNames(['tiny', 'mini/2.0']);
    assert.equal(names.confusion.get('mini/2.0'), 'confusion-mini_2.0.svg');
    for (const f of ['report.json', 'report.md', 'report.html', 'comparison.svg', 'confusion-tiny.svg', 'confusion-mini_2.0.svg', 'predictions.csv']) {
      assert.ok(existsSync(path.join(out, f)), f);
    }
    const json = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as EvaluationReport & { images: { confusion: Record<string, string> } };
    assert.equal(json.models[1]!.metrics!.accuracy, modelB.metrics!.accuracy);
    assert.deepEqual(json.images.confusion, { tiny: 'confusion-tiny.svg', 'mini/2.0': 'confusion-mini_2.0.svg' });
    assert.equal(readDataset(path.join(out, 'predictions.csv')).rows.length, 10);

    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /^\| {2}\| tiny \| mini\/2\.0 \|$/m);
    assert.match(md, /^\| accuracy \| 0\.600 \| 0\.889 \|$/m);
    assert.match(md, /^\| rows failed \| 0 \| 1 \|$/m);
    assert.match(md, /^\| class \| support \| tiny P \| tiny R \| tiny F1 \| mini\/2\.0 P \| mini\/2\.0 R \| mini\/2\.0 F1 \|$/m);
    // c & d: tiny predicted it once (correctly): P 1, R 1/2, F1 2/3; mini/2.0 saw one of its two rows.
    assert.match(md, /^\| c & d \| 2 \| 1\.000 \| 0\.500 \| 0\.667 \| 1\.000 \| 1\.000 \| 1\.000 \|$/m);
    assert.match(md, /!\[Confusion matrix of mini\/2\.0\]\(confusion-mini_2\.0\.svg\)/);
    assert.match(md, /mini\/2\.0, row 10: 400 empty text/);

    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /<td>c &amp; d<\/td><td class="num">2<\/td>/);
    assert.match(html, /<img src="comparison.svg"/);
  });

  it('says which version and archive each model was, and adds scikit-learn-style per-model tables', async () => {
    const out = path.join(dir, 'r2');
    await writeReport(out, report, { columns: ['id'], rows: actual.map((_, i) => ({ id: String(i) })) });
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /server version 0\.1\.0/);
    assert.match(md, new RegExp(`^- tiny: tiny version 1\\.0, archive SHA-256 ${'ab'.repeat(32)} \\(tiny\\.mar\\)$`, 'm'));
    assert.match(md, /^\| version \| 1\.0 \| 2\.0 \|$/m);
    assert.match(md, /^\| archive SHA-256 \| abababababab \| cdcdcdcdcdcd \|$/m);
    // tiny: matrix [[3,1,0],[2,2,0],[0,1,1]] (a, b, c & d):
    // a: P 3/5, R 3/4, F1 2/3; b: P 2/4, R 2/4, F1 1/2; c & d: P 1, R 1/2, F1 2/3.
    // macro P (0.6+0.5+1)/3 = 0.7, R (0.75+0.5+0.5)/3 = 0.583, F1 (2/3+1/2+2/3)/3 = 0.611;
    // weighted P (4·0.6+4·0.5+2·1)/10 = 0.64, R 0.6, F1 (4·2/3+4·1/2+2·2/3)/10 = 0.6.
    assert.match(md, /### Classification report: tiny\n\n\|  \| precision \| recall \| f1-score \| support \|/);
    assert.match(md, /^\| a \| 0\.600 \| 0\.750 \| 0\.667 \| 4 \|$/m);
    assert.match(md, /^\| accuracy \|  \|  \| 0\.600 \| 10 \|$/m);
    assert.match(md, /^\| macro avg \| 0\.700 \| 0\.583 \| 0\.611 \| 10 \|$/m);
    assert.match(md, /^\| weighted avg \| 0\.640 \| 0\.600 \| 0\.600 \| 10 \|$/m);
    const json = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as { classificationReports: Record<string, { macroAvg: { precision: number } }> };
    assert.ok(Math.abs(json.classificationReports.tiny!.macroAvg.precision - 0.7) < 1e-12);
  });

  it('writes each confusion matrix as a PNG too: the same cells, rasterized', async () => {
    const out = path.join(dir, 'r3');
    await writeReport(out, report, { columns: ['id'], rows: actual.map((_, i) => ({ id: String(i) })) });
    const svg = readFileSync(path.join(out, 'confusion-mini_2.0.svg'), 'utf8');
    const png = PNG.sync.read(readFileSync(path.join(out, 'confusion-mini_2.0.png')));
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    const height = Number(/<svg[^>]* height="(\d+)"/.exec(svg)![1]);
    assert.deepEqual([png.width, png.height], [2 * width, 2 * height], 'twice the SVG size');
    const pixels = (pred: (r: number, g: number, b: number) => boolean): number => {
      let n = 0;
      for (let i = 0; i < png.data.length; i += 4) if (pred(png.data[i]!, png.data[i + 1]!, png.data[i + 2]!)) n++;
      return n;
    };
    // mini/2.0 got every "c & d" row right: a full-share cell, drawn in the scale's darkest blue #08306b.
    assert.ok(pixels((r, g, b) => Math.abs(r - 0x08) < 12 && Math.abs(g - 0x30) < 12 && Math.abs(b - 0x6b) < 12) > 1000, 'the darkest cell is drawn');
    assert.ok(pixels((r, g, b) => r > 250 && g > 250 && b > 250) > png.width * png.height * 0.3, 'a white background');
  });

  it('still writes the report when a model could not be evaluated, and says why', async () => {
    const out = path.join(dir, 'r4');
    const broken: ModelEvaluation = { ...modelA, model: 'nope', served: null, describeError: 'GET …/models/nope: 404', error: 'model nope: the server answered 404', answered: 0, failed: 10, metrics: null };
    await writeReport(out, { ...report, models: [modelA, broken] }, { columns: ['id'], rows: actual.map((_, i) => ({ id: String(i) })) });
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /^\| status \| evaluated \| failed \|$/m);
    assert.match(md, /^- nope: not described \(GET …\/models\/nope: 404\)\. Not evaluated: model nope: the server answered 404$/m);
    assert.match(md, /### nope\n\nNot evaluated: model nope: the server answered 404/);
    assert.ok(existsSync(path.join(out, 'confusion-tiny.png')));
    assert.ok(!existsSync(path.join(out, 'confusion-nope.png')));
  });
});
