/**
 * `ortserve evaluate` as a process against a real server with two versions of a tiny text model: the
 * report's numbers are checked against the server's own answers for the same rows.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import { readDataset } from '../../src/evaluation/dataset.js';
import { classificationMetrics } from '../../src/evaluation/metrics.js';
import type { EvaluationReport } from '../../src/evaluation/run-evaluation.js';
import { cleanupAll, makeCliEnv, runCli, type CliEnv } from '../support/cli.js';
import { LISTINGS, startTextServer, type TextServer } from '../client/text-server.js';

const MODELS = ['clf', 'clf/2.0'];

describe('ortserve evaluate', () => {
  let ts: TextServer;
  let e: CliEnv;
  let csvFile: string;
  const rows = LISTINGS.map((l, i) => ({ id: `ev-${i + 1}`, lang: l.lang, title: l.title, description: l.description, taxonomy: l.taxonomy, subtaxonomy: '' }));

  before(async () => {
    ts = await startTextServer([
      { name: 'clf', version: '1.0', seed: 3 },
      { name: 'clf', version: '2.0', seed: 11 },
    ]);
    e = makeCliEnv();
    csvFile = path.join(e.cwd, 'listings.csv');
    writeFileSync(csvFile, stringify([Object.keys(rows[0]!), ...rows.map((r) => Object.values(r))]));
  });
  after(async () => {
    await cleanupAll();
    await ts.server.stop();
  });

  const evaluate = (args: string[]) => runCli(e, ['evaluate', ...args, '--url', ts.server.inferenceUrl, '--management-url', ts.server.managementUrl], 60_000);

  it('writes report.json, report.md, report.html and SVG images whose numbers match the server\'s answers', async () => {
    const out = path.join(e.cwd, 'report');
    const r = await evaluate([csvFile, '-m', MODELS[0]!, '-m', MODELS[1]!, '--label-column', 'taxonomy', '--token', ts.token, '--management-token', ts.server.auth('management').Authorization!.replace('Bearer ', ''), '-o', out, '--concurrency', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\| accuracy \|/);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as EvaluationReport;
    assert.deepEqual(report.models.map((m) => m.model), MODELS);
    assert.equal(report.dataset.evaluated, rows.length);
    assert.deepEqual(report.dataset.textColumns, ['title', 'description']);
    assert.deepEqual(report.dataset.classCounts, { food: 4, music: 4, sports: 4, theatre: 4 });

    const actual = rows.map((x) => x.taxonomy);
    const predictions = readDataset(path.join(out, 'predictions.csv')).rows;
    const answers: string[][] = [];
    for (const [i, model] of MODELS.entries()) {
      const expectedLabels = await Promise.all(rows.map((x) => ts.labelOf(model, `${x.title}. ${x.description}`)));
      answers.push(expectedLabels);
      const expected = classificationMetrics(actual, expectedLabels);
      const got = report.models[i]!;
      assert.equal(got.answered, rows.length);
      assert.equal(got.failed, 0);
      assert.deepEqual(got.metrics!.labels, expected.labels);
      assert.deepEqual(got.metrics!.matrix, expected.matrix, `${model}: the confusion matrix counts the server's answers`);
      assert.equal(got.metrics!.matrix.flat().reduce((a, b) => a + b, 0), rows.length);
      for (const k of ['accuracy', 'balancedAccuracy', 'mcc', 'macroF1'] as const) assert.equal(got.metrics![k], expected[k], `${model} ${k}`);
      assert.equal(got.latencyMs.count, rows.length);
      assert.ok(got.latencyMs.p50 > 0 && got.latencyMs.p50 <= got.latencyMs.p90 && got.latencyMs.p90 <= got.latencyMs.p99 && got.latencyMs.p99 <= got.latencyMs.max);
      assert.deepEqual(predictions.map((p) => p[`predicted_${model}`]), expectedLabels);
    }
    assert.notDeepEqual(answers[0], answers[1], 'the two versions answer differently (else the side-by-side check proves little)');
    // Which version and archive answered, from describe; the SHA-256s computed here from the files.
    for (const [i, version] of ['1.0', '2.0'].entries()) {
      const mar = readFileSync(path.join(ts.server.modelStore, `clf-${version}.mar`));
      assert.deepEqual(report.models[i]!.served, { name: 'clf', version, url: `clf-${version}.mar`, archiveSha256: createHash('sha256').update(mar).digest('hex') });
    }

    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /^\| {2}\| clf \| clf\/2\.0 \|$/m);
    const acc = (m: number): string => report.models[m]!.metrics!.accuracy.toFixed(3);
    assert.match(md, new RegExp(`^\\| accuracy \\| ${acc(0)} \\| ${acc(1)} \\|$`, 'm'));
    assert.match(md, /^\| latency p99 \(ms\) \| \d+\.\d \| \d+\.\d \|$/m);
    assert.match(md, /^\| class \| support \| clf P \| clf R \| clf F1 \| clf\/2\.0 P \| clf\/2\.0 R \| clf\/2\.0 F1 \|$/m);
    for (const f of ['comparison.svg', 'confusion-clf.svg', 'confusion-clf_2.0.svg']) {
      const svg = readFileSync(path.join(out, f), 'utf8');
      assert.match(svg, /^<svg /, f);
      assert.ok(md.includes(`](${f})`), `report.md shows ${f}`);
    }
    const confusion = readFileSync(path.join(out, 'confusion-clf.svg'), 'utf8');
    for (const label of report.models[0]!.metrics!.labels) assert.ok(confusion.includes(`>${label}</text>`), label);
    assert.ok(existsSync(path.join(out, 'report.html')));
  });

  it('reads JSONL, filters with --where, takes the key from --key-file, and chooses text columns', async () => {
    const jsonl = path.join(e.cwd, 'listings.jsonl');
    writeFileSync(jsonl, rows.map((x) => JSON.stringify({ ...x, subtaxonomy: null })).join('\n') + '\n');
    const out = path.join(e.cwd, 'report-es');
    const r = await evaluate([jsonl, '-m', 'clf', '--label-column', 'taxonomy', '--where', 'lang=es', '--text-columns', 'title', '--key-file', path.join(ts.server.dir, 'key_file.json'), '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as EvaluationReport;
    const spanish = rows.filter((x) => x.lang === 'es');
    assert.equal(report.dataset.evaluated, spanish.length);
    assert.deepEqual(report.dataset.where, [{ column: 'lang', value: 'es' }]);
    const expected = classificationMetrics(spanish.map((x) => x.taxonomy), await Promise.all(spanish.map((x) => ts.labelOf('clf', x.title))));
    assert.deepEqual(report.models[0]!.metrics!.matrix, expected.matrix);
  });

  it('still evaluates with a key file that has no management key: the report says the model was not described', async () => {
    const keyFile = path.join(e.cwd, 'inference-only.json');
    writeFileSync(keyFile, JSON.stringify({ inference: { key: ts.token } }));
    const out = path.join(e.cwd, 'report-undescribed');
    const r = await evaluate([csvFile, '-m', 'clf', '--label-column', 'taxonomy', '--key-file', keyFile, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /model clf: cannot read its version and archive from the management API: GET .*\/models\/clf: 400 InvalidKeyException: Token Authorization failed/);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as EvaluationReport;
    assert.equal(report.models[0]!.served, null);
    assert.equal(report.models[0]!.answered, rows.length);
  });

  it('exits 2 on usage errors and 1 on server errors, saying why', async () => {
    const usage: Array<[string[], RegExp]> = [
      [[csvFile, '--label-column', 'taxonomy'], /at least one --model/],
      [['-m', 'clf'], /name at least one data file/],
      [[csvFile, '-m', 'clf', '--bogus'], /Unknown option '--bogus'/],
      [[csvFile, '-m', 'clf', '--label-column', 'category'], /--label-column: no column "category"/],
      [[csvFile, '-m', 'clf', '--label-column', 'taxonomy', '--concurrency', '0'], /--concurrency 0/],
    ];
    for (const [args, message] of usage) {
      const r = await evaluate(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /ortserve evaluate --help/);
    }
    // A model that cannot answer at all: exit 3, and the report (of no model here) is written all the same.
    const missing = await evaluate([csvFile, '-m', 'nope', '--label-column', 'taxonomy', '--token', ts.token, '-o', path.join(e.cwd, 'r-nope')]);
    assert.equal(missing.code, 3);
    assert.ok(existsSync(path.join(e.cwd, 'r-nope', 'report.md')));
    assert.match(missing.stderr, /model nope: the server answered 404 ModelNotFoundException/);
    const denied = await evaluate([csvFile, '-m', 'clf', '--label-column', 'taxonomy', '--token', 'wrong', '-o', path.join(e.cwd, 'r-denied')]);
    assert.equal(denied.code, 3);
    // TorchServe's answer to a wrong key is a 400, which must stop the run rather than fail each row.
    assert.match(denied.stderr, /the server answered 400 InvalidKeyException: Token Authorization failed/);
    const help = await runCli(e, ['evaluate', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: ortserve evaluate FILE/);
    const top = await runCli(e, ['--help']);
    assert.match(top.stdout, /ortserve evaluate FILE -m MODEL/);
  });
});
