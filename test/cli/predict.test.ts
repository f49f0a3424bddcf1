/**
 * `ortserve predict` as a process: CSV and JSONL files through a real server, every row back with the
 * server's label and score; 503s retried, against a model that gets its worker late and against a
 * local stub that stands in for a busy network peer.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { stringify } from 'csv-stringify/sync';
import { readDataset } from '../../src/evaluation/dataset.js';
import { CLI, cleanupAll, makeCliEnv, runCli, type CliEnv } from '../support/cli.js';
import { LABELS, LISTINGS, startTextServer, type TextServer } from '../client/text-server.js';

describe('ortserve predict', () => {
  let ts: TextServer;
  let e: CliEnv;
  const rows = LISTINGS.slice(0, 10).map((l, i) => ({ id: `p${i}`, title: l.title, description: l.description, note: i === 0 ? 'has, "quotes"' : '' }));

  before(async () => {
    ts = await startTextServer([
      { name: 'clf', seed: 3 },
      { name: 'other', seed: 11 },
      { name: 'late', seed: 3, workers: 0 },
    ]);
    e = makeCliEnv();
  });
  after(async () => {
    await cleanupAll();
    await ts.server.stop();
  });

  const predict = (args: string[]) => runCli(e, ['predict', ...args, '--url', ts.server.inferenceUrl, '--token', ts.token], 60_000);
  const textOf = (r: { title: string; description: string }): string => `${r.title}. ${r.description}`;

  it('writes every CSV row back, unchanged, with the label and score the server gives', async () => {
    const input = path.join(e.cwd, 'in.csv');
    writeFileSync(input, stringify([Object.keys(rows[0]!), ...rows.map((r) => Object.values(r))]));
    const r = await predict([input, '-m', 'clf', '--concurrency', '3']);
    assert.equal(r.code, 0, r.stderr);
    const out = readDataset(path.join(e.cwd, 'in.predictions.csv'));
    assert.deepEqual(out.columns, ['id', 'title', 'description', 'note', 'predicted_clf', 'score_clf']);
    assert.equal(out.rows.length, rows.length);
    for (const [i, row] of out.rows.entries()) {
      assert.deepEqual({ id: row.id, title: row.title, description: row.description, note: row.note }, rows[i]);
      assert.equal(row.predicted_clf, await ts.labelOf('clf', textOf(rows[i]!)));
      const score = Number(row.score_clf);
      assert.ok(score > 1 / LABELS.length && score <= 1, `score ${row.score_clf}`);
    }
    assert.match(r.stdout, /Wrote 10 rows with the predictions of clf to .*in\.predictions\.csv/);
  });

  it('writes JSONL with two models and the top-k labels, and marks rows without text as failed', async () => {
    const input = path.join(e.cwd, 'in.jsonl');
    const withEmpty = [...rows, { id: 'empty', title: '', description: '  ', note: '' }];
    writeFileSync(input, withEmpty.map((x) => JSON.stringify(x)).join('\n'));
    const outFile = path.join(e.cwd, 'labelled.jsonl');
    const r = await predict([input, '-m', 'clf', '-m', 'other', '--top-k', '2', '-o', outFile]);
    assert.equal(r.code, 1, 'a row failed');
    assert.match(r.stderr, /rows without a prediction \(clf: 1, other: 1\)/);
    const out = readFileSync(outFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(out.length, withEmpty.length);
    for (const [i, row] of out.slice(0, rows.length).entries()) {
      for (const model of ['clf', 'other']) {
        const top = row[`top_${model}`] as Array<{ label: string; score: number }>;
        assert.equal(top.length, 2);
        assert.ok(top[0]!.score >= top[1]!.score);
        assert.equal(row[`predicted_${model}`], top[0]!.label);
        assert.equal(row[`score_${model}`], top[0]!.score);
        assert.equal(row[`predicted_${model}`], await ts.labelOf(model, textOf(rows[i]!)));
        assert.equal(row[`error_${model}`], null);
      }
    }
    const failed = out[rows.length]!;
    assert.equal(failed.id, 'empty');
    assert.equal(failed.predicted_clf, null);
    assert.match(String(failed.error_clf), /empty text/);
  });

  it('retries the 503s of a model without workers until it is scaled up', async () => {
    const input = path.join(e.cwd, 'late.csv');
    writeFileSync(input, stringify([['text'], ...rows.slice(0, 4).map((x) => [textOf(x)])]));
    const child = spawn(process.execPath, [CLI, 'predict', input, '-m', 'late', '--retries', '10', '--url', ts.server.inferenceUrl, '--token', ts.token], {
      cwd: e.cwd,
      env: e.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no retry announced: ${stderr}`)), 20_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (stderr.includes('retrying')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    assert.match(stderr, /model late: 503 Model "late" has no worker/);
    await request(ts.server.managementUrl).put('/models/late?min_worker=1&synchronous=true').set(ts.server.auth('management')).expect(200);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /\d+ requests were retried/);
    const out = readDataset(path.join(e.cwd, 'late.predictions.csv'));
    assert.equal(out.rows.length, 4);
    for (const row of out.rows) assert.ok(LABELS.includes(String(row.predicted_late)));
  });

  it('retries a peer that answers 503 twice, then gets the answer', async () => {
    let calls = 0;
    const stub = http.createServer((req, res) => {
      req.resume().on('end', () => {
        calls++;
        if (calls <= 2) res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"code":503,"type":"ServiceUnavailableException","message":"busy"}');
        else res.writeHead(200, { 'Content-Type': 'application/json' }).end('[{"label":"music","score":0.9}]');
      });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    try {
      const input = path.join(e.cwd, 'one.csv');
      writeFileSync(input, 'text\nJazz night\n');
      const url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
      const r = await runCli(e, ['predict', input, '-m', 'm', '--url', url, '--concurrency', '1']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(calls, 3);
      assert.match(r.stderr, /503 busy; retrying/);
      assert.deepEqual(readDataset(path.join(e.cwd, 'one.predictions.csv')).rows, [{ text: 'Jazz night', predicted_m: 'music', score_m: '0.9' }]);
    } finally {
      await new Promise((r) => stub.close(r));
    }
  });

  it('exits 2 on usage errors', async () => {
    const input = path.join(e.cwd, 'in.csv');
    for (const [args, message] of [
      [[input], /at least one --model/],
      [[input, input, '-m', 'clf'], /exactly one input file/],
      [[input, '-m', 'clf', '-o', 'out.txt'], /\.csv or \.jsonl/],
      [[input, '-m', 'clf', '--top-k', 'two'], /--top-k two/],
      [[input, '-m', 'clf', '--text-columns', 'body'], /no column "body"/],
    ] as Array<[string[], RegExp]>) {
      const r = await predict(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
