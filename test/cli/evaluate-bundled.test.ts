/**
 * `ortserve evaluate` and `ortserve predict` as processes against a real server with the bundled models
 * (taxonomy, music_subtaxonomy and events, which answers objects): --field, --route, a model that
 * fails without losing the others' report, what each report records (version, archive SHA-256, server
 * version), a new folder per run, and --mlflow-dir. Expected labels are the server's own answers to
 * direct requests; expected SHA-256s are computed here from the archive files; the per-class table is
 * compared with scikit-learn's classification_report when scikit-learn is installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import { readDataset, type Row } from '../../src/evaluation/dataset.js';
import { classificationMetrics } from '../../src/evaluation/metrics.js';
import type { EvaluationReport } from '../../src/evaluation/run-evaluation.js';
import { text } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { cleanupAll, makeCliEnv, runCli, type CliEnv } from '../support/cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STORE = path.join(ROOT, 'model-store');
const MODELS = ['taxonomy', 'music_subtaxonomy', 'events'];
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const textOf = (r: Row): string => `${String(r.title)}. ${String(r.description)}`;

type Report = EvaluationReport & { classificationReports: Record<string, { classes: Array<{ name: string; precision: number; recall: number; f1: number; support: number }>; macroAvg: { precision: number; recall: number; f1: number }; weightedAvg: { precision: number; recall: number; f1: number }; accuracy: number }> };

describe('evaluate and predict with the bundled models', () => {
  let s: TestServer;
  let e: CliEnv;
  let csv: string;
  let rows: Row[];
  let keyFile: string;
  /** The server's own top label for a text, per model (events: its taxonomy and subtaxonomy). */
  const answers = new Map<string, string | null>();

  async function label(model: string, t: string): Promise<string> {
    const r = await s.predictJson(model, { text: t, top_k: 1 });
    assert.equal(r.status, 200, text(r.body));
    return (JSON.parse(text(r.body)) as Array<{ label: string }>)[0]!.label;
  }
  async function events(t: string): Promise<{ taxonomy: string; subtaxonomy: string | null }> {
    const r = await s.predictJson('events', { text: t, top_k: 1 });
    assert.equal(r.status, 200, text(r.body));
    const a = JSON.parse(text(r.body)) as { taxonomy: Array<{ label: string }>; subtaxonomy: Array<{ label: string }> | null };
    return { taxonomy: a.taxonomy[0]!.label, subtaxonomy: a.subtaxonomy?.[0]?.label ?? null };
  }

  before(async () => {
    s = await startTestServer();
    for (const name of MODELS) {
      copyFileSync(path.join(STORE, `${name}.mar`), path.join(s.modelStore, `${name}.mar`));
      await s.register(`url=${name}.mar&initial_workers=1&batch_size=8&max_batch_delay=20`);
    }
    e = makeCliEnv();
    keyFile = path.join(s.dir, 'key_file.json');
    // Every third row of the test split: every class, music among them.
    rows = readDataset(path.join(ROOT, 'examples/taxonomy/data/test.csv')).rows.filter((_, i) => i % 3 === 0);
    csv = path.join(e.cwd, 'test.csv');
    writeFileSync(csv, stringify([Object.keys(rows[0]!), ...rows.map((r) => Object.values(r))]));
    for (const r of rows) {
      answers.set(`taxonomy ${textOf(r)}`, await label('taxonomy', textOf(r)));
      const ev = await events(textOf(r));
      answers.set(`events ${textOf(r)}`, ev.taxonomy);
      answers.set(`events.sub ${textOf(r)}`, ev.subtaxonomy);
    }
  });
  after(async () => {
    await cleanupAll();
    await s.stop();
  });

  const run = (args: string[]) => runCli(e, [...args, '--url', s.inferenceUrl, '--key-file', keyFile], 120_000);
  const evaluate = (args: string[]) => run(['evaluate', csv, '--management-url', s.managementUrl, ...args]);
  const readReport = (dir: string): Report => JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as Report;

  it('compares taxonomy with events --field taxonomy in one report, recording versions, archive SHA-256s and the server version', async (t) => {
    const out = path.join(e.cwd, 'compare');
    const mlruns = path.join(e.cwd, 'mlruns');
    const r = await evaluate(['-m', 'taxonomy', '-m', 'events', '--field', 'taxonomy', '--label-column', 'taxonomy', '-o', out, '--mlflow-dir', mlruns]);
    assert.equal(r.code, 0, r.stderr);
    const report = readReport(out);
    assert.equal(report.field, 'taxonomy');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(report.serverVersion, pkg.version);
    const actual = rows.map((x) => String(x.taxonomy));
    for (const [i, model] of ['taxonomy', 'events'].entries()) {
      const m = report.models[i]!;
      assert.equal(m.model, model);
      assert.equal(m.error, null);
      assert.deepEqual(m.served, { name: model, version: '1.0', url: `${model}.mar`, archiveSha256: sha256(path.join(STORE, `${model}.mar`)) });
      const expected = classificationMetrics(actual, rows.map((x) => answers.get(`${model} ${textOf(x)}`)!));
      assert.deepEqual(m.metrics!.matrix, expected.matrix, `${model}: the confusion matrix counts the server's answers`);
      assert.equal(m.metrics!.accuracy, expected.accuracy);
      assert.ok(existsSync(path.join(out, `confusion-${model}.png`)));
    }
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /^\| {2}\| taxonomy \| events \|$/m);
    assert.match(md, /### Classification report: events/);
    // MLflow: one run per model, named after it, with the archive's SHA-256 as a param.
    const runs = readdirSync(path.join(mlruns, '0')).filter((d) => d !== 'meta.yaml');
    assert.equal(runs.length, 2);
    const byName = Object.fromEntries(runs.map((id) => [readFileSync(path.join(mlruns, '0', id, 'tags', 'mlflow.runName'), 'utf8'), id]));
    assert.deepEqual(Object.keys(byName).sort(), ['events', 'taxonomy']);
    assert.equal(readFileSync(path.join(mlruns, '0', byName.events!, 'params', 'archive_sha256'), 'utf8'), sha256(path.join(STORE, 'events.mar')));
    const accuracyLine = readFileSync(path.join(mlruns, '0', byName.taxonomy!, 'metrics', 'accuracy'), 'utf8');
    assert.equal(Number(accuracyLine.split(' ')[1]), report.models[0]!.metrics!.accuracy);
    assert.ok(existsSync(path.join(mlruns, '0', byName.events!, 'artifacts', 'confusion-events.png')));

    // The per-class table against scikit-learn on the same predictions (predictions.csv), when installed.
    const probe = spawnSync('python3', ['-c', 'import sklearn'], { encoding: 'utf8' });
    if (probe.status !== 0) t.diagnostic('scikit-learn is not installed: the report was not compared with it here (test/evaluation/sklearn-report.test.ts uses committed values)');
    else {
      const py = `import csv, json, sys
from sklearn.metrics import classification_report
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
print(json.dumps({m: classification_report([r["taxonomy"] for r in rows], [r["predicted_" + m] for r in rows], output_dict=True, zero_division=0) for m in ["taxonomy", "events"]}))`;
      const sk = spawnSync('python3', ['-c', py, path.join(out, 'predictions.csv')], { encoding: 'utf8' });
      assert.equal(sk.status, 0, sk.stderr);
      const ref = JSON.parse(sk.stdout) as Record<string, Record<string, { precision: number; recall: number; 'f1-score': number; support: number } | number>>;
      for (const model of ['taxonomy', 'events']) {
        const ours = report.classificationReports[model]!;
        const theirs = ref[model]!;
        for (const c of ours.classes) {
          const t = theirs[c.name] as { precision: number; recall: number; 'f1-score': number; support: number };
          assert.ok(Math.abs(c.precision - t.precision) < 1e-12 && Math.abs(c.recall - t.recall) < 1e-12 && Math.abs(c.f1 - t['f1-score']) < 1e-12 && c.support === t.support, `${model} ${c.name}`);
        }
        for (const [key, avg] of [['macro avg', ours.macroAvg], ['weighted avg', ours.weightedAvg]] as const) {
          const t = theirs[key] as { precision: number; recall: number; 'f1-score': number };
          assert.ok(Math.abs(avg.precision - t.precision) < 1e-12 && Math.abs(avg.recall - t.recall) < 1e-12 && Math.abs(avg.f1 - t['f1-score']) < 1e-12, `${model} ${key}`);
        }
        assert.ok(Math.abs(ours.accuracy - (theirs.accuracy as number)) < 1e-12);
      }
    }
  });

  it('keeps the report of a model that works when another cannot be evaluated, and exits 3', async () => {
    // events answers objects: without --field it cannot be evaluated; taxonomy still is.
    const out = path.join(e.cwd, 'partial');
    const r = await evaluate(['-m', 'taxonomy', '-m', 'events', '-m', 'nope', '--label-column', 'taxonomy', '-o', out]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /model events: .*an object with the fields taxonomy, subtaxonomy: name the one that holds the labels with --field/);
    assert.match(r.stderr, /model nope: the server answered 404 ModelNotFoundException/);
    assert.match(r.stderr, /2 of 3 models could not be evaluated \(events, nope\)/);
    const report = readReport(out);
    assert.deepEqual(report.models.map((m) => [m.model, m.error === null]), [['taxonomy', true], ['events', false], ['nope', false]]);
    assert.equal(report.models[0]!.answered, rows.length);
    assert.equal(report.models[2]!.served, null);
    assert.ok(existsSync(path.join(out, 'confusion-taxonomy.png')));
  });

  it('counts a null field as "(none)": events gives no subtaxonomy to the music rows it did not call music', async () => {
    const out = path.join(e.cwd, 'sub');
    const r = await evaluate(['-m', 'events', '--field', 'subtaxonomy', '--where', 'taxonomy=music', '--label-column', 'subtaxonomy', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const music = rows.filter((x) => x.taxonomy === 'music' && String(x.subtaxonomy) !== '');
    const expected = classificationMetrics(music.map((x) => String(x.subtaxonomy)), music.map((x) => answers.get(`events.sub ${textOf(x)}`) ?? '(none)'));
    const m = readReport(out).models[0]!;
    assert.deepEqual(m.metrics!.labels, expected.labels);
    assert.deepEqual(m.metrics!.matrix, expected.matrix);
  });

  it('writes each run to a new timestamped folder and never overwrites one given with --out', async () => {
    const first = await evaluate(['-m', 'taxonomy', '--label-column', 'taxonomy', '--where', 'lang=es']);
    const second = await evaluate(['-m', 'taxonomy', '--label-column', 'taxonomy', '--where', 'lang=es']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const folders = readdirSync(path.join(e.cwd, 'reports'));
    assert.equal(folders.length, 2, folders.join(', '));
    for (const f of folders) assert.match(f, /^evaluate-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(-\d+)?$/);
    const out = path.join(e.cwd, 'compare');
    const before = readFileSync(path.join(out, 'report.json'), 'utf8');
    const again = await evaluate(['-m', 'taxonomy', '--label-column', 'taxonomy', '-o', out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /--out .*compare: the folder already holds a report/);
    assert.equal(readFileSync(path.join(out, 'report.json'), 'utf8'), before);
    const replaced = await evaluate(['-m', 'taxonomy', '--label-column', 'taxonomy', '--where', 'lang=es', '-o', out, '--overwrite']);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.deepEqual(readReport(out).models.map((m) => m.model), ['taxonomy'], 'said explicitly, the report is replaced');
  });

  it('predict --route sends the sub-taxonomy model only the rows the taxonomy model called music', async () => {
    const out = path.join(e.cwd, 'routed.csv');
    const r = await run(['predict', csv, '-m', 'taxonomy', '-m', 'music_subtaxonomy', '--route', 'music_subtaxonomy=music', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const got = readDataset(out).rows;
    assert.equal(got.length, rows.length);
    let music = 0;
    for (const [i, row] of got.entries()) {
      const t = textOf(rows[i]!);
      assert.equal(row.predicted_taxonomy, answers.get(`taxonomy ${t}`));
      if (row.predicted_taxonomy === 'music') {
        music++;
        assert.equal(row.predicted_music_subtaxonomy, await label('music_subtaxonomy', t));
        // The same as the events model's own two-level answer.
        assert.equal(row.predicted_music_subtaxonomy, answers.get(`events.sub ${t}`));
      } else {
        assert.equal(row.predicted_music_subtaxonomy, '', `row ${i} (${String(row.predicted_taxonomy)}) has no sub-genre`);
      }
    }
    assert.ok(music > 0 && music < rows.length, `${music} rows routed`);
    const bad = await run(['predict', csv, '-m', 'taxonomy', '--route', 'taxonomy=music']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--route taxonomy=music: taxonomy is the first model/);
  });

  it('predict -m events --field taxonomy writes the events model\'s taxonomy', async () => {
    const out = path.join(e.cwd, 'events.jsonl');
    const r = await run(['predict', csv, '-m', 'events', '--field', 'taxonomy', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const got = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
    assert.deepEqual(got.map((x) => x.predicted_events), rows.map((x) => answers.get(`events ${textOf(x)}`)));
    assert.ok(got.every((x) => typeof x.score_events === 'number'));
  });
});
