/**
 * Issue 16, item 2: workers=auto. With no worker count and no intra_op_threads, a startup model's layout
 * is calibrated off the HTTP thread: the choice never uses more threads than cores, stays within the
 * batch size, shows in describe and in a metric; explicit settings are kept as given; `/ping` and another
 * model answer while the calibration runs (checked by ordering: describe says "calibrating" before and
 * after them).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { candidateBatches, candidateLayouts, chooseOperatingPoint, type LayoutMeasurement } from '../../src/scheduling/operating-point.js';
import { writeMar } from '../support/archives.js';
import { json } from '../support/http.js';
import { sample } from '../support/metrics.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';
import { writeSizedMar } from '../support/sized-model.js';
import { writeTinyTextModel } from '../support/tiny-model.js';
import { readdirSync, readFileSync } from 'node:fs';

interface Point {
  workers: number;
  intraOpThreads: number;
  batchSize: number;
  source: string;
  reason: string;
  measured: LayoutMeasurement[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function point(s: TestServer, model: string): Promise<{ point: Point; workers: number; minWorkers: number }> {
  const r = await request(s.managementUrl).get(`/models/${model}`).set(s.auth('management')).expect(200);
  const d = (r.body as Array<{ operatingPoint: Point; workers: unknown[]; minWorkers: number }>)[0]!;
  return { point: d.operatingPoint, workers: d.workers.length, minWorkers: d.minWorkers };
}

function m(workers: number, threads: number, batch: number, seqPerSec: number): LayoutMeasurement {
  return { workers, threads, batch, length: 64, seqPerSec };
}

describe('choosing an operating point', () => {
  it('candidate layouts never use more threads than cores', () => {
    for (let cores = 1; cores <= 16; cores++) {
      const layouts = candidateLayouts(cores);
      assert.ok(layouts.length >= 1);
      for (const l of layouts) assert.ok(l.workers * l.threads <= cores, `${cores} cores: ${l.workers} × ${l.threads}`);
      assert.deepEqual(layouts[0], { workers: 1, threads: cores });
      assert.equal(layouts.at(-1)!.threads, 1, 'one thread per worker is a candidate');
    }
    assert.deepEqual(candidateLayouts(2), [{ workers: 1, threads: 2 }, { workers: 2, threads: 1 }]);
  });

  it('candidate batches stay within batch_size and the token budget', () => {
    assert.deepEqual(candidateBatches(8, 1024, 64), [1, 2, 4, 8]);
    assert.deepEqual(candidateBatches(6, 1024, 64), [1, 2, 4, 6]);
    assert.deepEqual(candidateBatches(32, 1024, 128), [1, 2, 4, 8]);
    assert.deepEqual(candidateBatches(1, 1024, 64), [1]);
  });

  it('keeps the fastest valid candidate; near-equal ones go to the smaller batch', () => {
    const measured = [m(1, 2, 4, 80), m(1, 2, 8, 85), m(2, 1, 4, 100), m(2, 1, 8, 102), m(2, 2, 4, 500), m(2, 1, 16, 900)];
    const p = chooseOperatingPoint(measured, 2, 8)!;
    // 2 × 2 oversubscribes 2 cores and batch 16 is over batch_size 8: both are ignored.
    assert.deepEqual([p.workers, p.intraOpThreads, p.batchSize, p.source], [2, 1, 4, 'calibrated']);
    assert.match(p.reason, /2 × 1 thread\(s\), batch 4/);
    assert.equal(chooseOperatingPoint([m(2, 2, 4, 10)], 2, 8), null);
  });
});

describe('workers=auto on a startup model (issue 16)', { timeout: 240_000 }, () => {
  let s: TestServer;

  before(async () => {
    const dir = makeTempDir();
    const store = path.join(dir, 'model-store');
    mkdirSync(store, { recursive: true });
    // batchSize 16: five batch sizes per layout, so the calibration lasts long enough to be seen.
    writeSizedMar(store, 'auto', 'batchSize: 16\nmaxBatchDelay: 5\n');
    const tinyDir = path.join(dir, 'tiny-files');
    await writeTinyTextModel(tinyDir);
    const files = Object.fromEntries(readdirSync(tinyDir).map((f) => [f, readFileSync(path.join(tinyDir, f))]));
    writeMar(store, { name: 'other', handler: 'text_classifier', serializedFile: 'model.onnx', files, yaml: 'minWorkers: 1\nmaxWorkers: 1\n' });
    s = await startTestServer({ dir, properties: { load_models: 'auto=auto,other=other.mar' } });
  });
  after(() => s.stop());

  it('/ping and another model answer while the calibration runs', async () => {
    const before = await point(s, 'auto');
    assert.equal(before.point.source, 'calibrating', before.point.reason);
    const ping = await request(s.inferenceUrl).get('/ping').set(s.auth('inference')).expect(200);
    assert.deepEqual(ping.body, { status: 'Healthy' });
    const other = await s.predictJson('other', { text: 'hello there' });
    assert.equal(other.status, 200, String(other.body));
    assert.ok(Array.isArray(json(other.body)) || typeof json(other.body) === 'object');
    const during = await point(s, 'auto');
    assert.equal(during.point.source, 'calibrating', 'the answers came while the calibration was still running');
  });

  it('chooses a layout within the cores and the batch size, and shows it in describe and the metric', async () => {
    let p = await point(s, 'auto');
    for (let i = 0; i < 600 && p.point.source === 'calibrating'; i++) {
      await sleep(200);
      p = await point(s, 'auto');
    }
    console.log(`auto chose: ${JSON.stringify({ ...p.point, measured: p.point.measured.length })}`);
    assert.equal(p.point.source, 'calibrated', p.point.reason);
    const cores = availableParallelism();
    assert.ok(p.point.workers * p.point.intraOpThreads <= cores);
    assert.ok(p.point.batchSize >= 1 && p.point.batchSize <= 16);
    assert.equal(p.point.measured.length, candidateLayouts(cores).length * candidateBatches(16, 1024, 64).length);
    assert.equal(p.workers, p.point.workers, 'the version runs the chosen number of workers');
    assert.equal(p.minWorkers, p.point.workers);
    const r = await s.predictJson('auto', { text: 'still serving after the new layout' });
    assert.equal(r.status, 200, String(r.body));
    const metrics = (await request(s.metricsUrl!).get('/metrics')).text;
    const labels = { model: 'auto', version: '1.0', source: 'calibrated' };
    assert.equal(sample(metrics, 'ortserve_operating_point', { ...labels, setting: 'workers' }), p.point.workers);
    assert.equal(sample(metrics, 'ortserve_operating_point', { ...labels, setting: 'intra_op_threads' }), p.point.intraOpThreads);
    assert.equal(sample(metrics, 'ortserve_operating_point', { ...labels, setting: 'batch_size' }), p.point.batchSize);
  });

  it('explicit settings are honoured: minWorkers in model-config.yaml, initial_workers, a scale request', async () => {
    const other = await point(s, 'other');
    assert.deepEqual([other.point.source, other.point.workers, other.workers], ['explicit', 1, 1]);
    writeSizedMar(s.modelStore, 'given', 'batchSize: 4\n');
    await s.register('url=given&initial_workers=1&synchronous=true');
    const given = await point(s, 'given');
    assert.deepEqual([given.point.source, given.point.workers, given.point.intraOpThreads, given.point.batchSize], ['explicit', 1, availableParallelism(), 4]);
    await request(s.managementUrl).put('/models/auto?min_worker=1&synchronous=true').set(s.auth('management')).expect(200);
    const scaled = await point(s, 'auto');
    assert.deepEqual([scaled.point.source, scaled.workers], ['explicit', 1]);
  });
});

describe('intra_op_threads given: no calibration (issue 16)', { timeout: 120_000 }, () => {
  it('a startup model keeps the configured threads', async () => {
    const dir = makeTempDir();
    const store = path.join(dir, 'model-store');
    mkdirSync(store, { recursive: true });
    writeSizedMar(store, 'fixed');
    const s = await startTestServer({ dir, properties: { load_models: 'fixed=fixed', intra_op_threads: '1' } });
    try {
      const p = await point(s, 'fixed');
      assert.deepEqual([p.point.source, p.point.intraOpThreads, p.workers], ['explicit', 1, 1]);
    } finally {
      await s.stop();
    }
  });
});
