/**
 * The `peer` section of `npm run bench` (issue 16): ortserve with its defaults and `batch_size=8`
 * against what a user would write instead (bench/peer/app.py, FastAPI + uvicorn + onnxruntime +
 * tokenizers, no batching; 1 process × 2 intra-op threads and 2 processes × 1 thread) and, at
 * concurrency 1, against the floor (bench/floor.ts: node:http and one worker thread on the same
 * session). All run on the int8 base model, started together (idle servers use no CPU) and loaded in
 * turn: each repeat loads every server at concurrency 32, then at concurrency 1, in an order that
 * rotates with the repeat, so that a slow minute of the shared machine does not fall on one server.
 */
import { CORPUS_FILE, loadCorpus } from './lib/corpus.js';
import { ExternalServer, ensurePeerVenv } from './lib/external-server.js';
import { log } from './lib/script-process.js';
import { ServerProcess } from './lib/server-process.js';
import { answers, loadTarget, type LoadTarget, type TargetRun } from './lib/target-load.js';
import type { BenchModel } from './models.js';
import type { BenchOptions } from './options.js';
import type { LoadPlan } from './scenario.js';

/** The servers of the section, in the report's order. */
export const PEER_TARGETS = ['ortserve', 'peer 1 × 2', 'peer 2 × 1', 'floor'] as const;
export type PeerTarget = (typeof PEER_TARGETS)[number];

export interface PeerReport {
  model: string;
  runs: TargetRun[];
  /** What each server answered to the first corpus texts, where it differs from ortserve (empty: all agree). */
  disagreements: string[];
  /** ortserve's `GET /models/clf` after registration (what its defaults chose). */
  ortserveDescribe: unknown;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * ortserve as a user runs it without tuning: the archive loaded at startup (`load_models`) with
 * `batchSize` in the `models` property and nothing else, so that workers=auto chooses the layout
 * (issue 16; the register API keeps TorchServe's default of 0 workers). Returns once the workers are
 * ready and the calibration is over, so that loads measure the chosen layout. With `initialWorkers`, the
 * archive is registered with `batch_size` and `initial_workers` instead (an explicit worker count).
 */
export async function startDefaultOrtserve(label: string, model: BenchModel, batchSize: number, extra: { initialWorkers?: number } = {}): Promise<ServerProcess> {
  if (extra.initialWorkers !== undefined) {
    const server = await ServerProcess.start({ label, properties: {} });
    try {
      await server.register({ mar: model.mar, modelName: 'clf', batchSize, initialWorkers: extra.initialWorkers });
    } catch (err) {
      await server.stop(5000);
      throw err;
    }
    return server;
  }
  const models = JSON.stringify({ clf: { '1.0': { marName: 'clf.mar', batchSize } } });
  const server = await ServerProcess.start({ label, properties: { load_models: 'clf=clf.mar', models }, storeFiles: { 'clf.mar': model.mar } });
  try {
    const deadline = Date.now() + 300_000;
    let calibrating = false;
    for (;;) {
      const d = ((await server.describe('clf')) as Array<{ workers?: Array<{ status?: string }>; operatingPoint?: { source?: string; reason?: string } }>)[0];
      const point = d?.operatingPoint;
      if (point?.source === 'calibrating') calibrating = true;
      const ready = (d?.workers ?? []).length > 0 && d!.workers!.every((w) => w.status === 'READY');
      const settled = point === undefined || (point.source !== 'calibrating' && (calibrating || point.source !== 'default' || /not calibrated/.test(point.reason ?? '')));
      if (ready && settled) break;
      if (Date.now() > deadline) throw new Error(`${label}: not ready with a chosen layout after 300 s: ${JSON.stringify(d)}`);
      await sleep(500);
    }
  } catch (err) {
    await server.stop(5000);
    throw err;
  }
  log(`${label}: ${JSON.stringify(((await server.describe('clf')) as Array<{ operatingPoint?: unknown }>)[0]?.operatingPoint)}`);
  return server;
}

export function ortserveTarget(name: string, s: ServerProcess): LoadTarget {
  return { name, url: s.inferenceUrl, pid: s.pid, token: s.token('inference'), model: 'clf' };
}

export async function runPeerSection(o: BenchOptions, model: BenchModel): Promise<PeerReport> {
  const python = ensurePeerVenv(log);
  const report: PeerReport = { model: model.name, runs: [], disagreements: [], ortserveDescribe: null };
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const ortserve = await startDefaultOrtserve('peer-ortserve', model, o.batchSize);
    stops.push(() => ortserve.stop());
    report.ortserveDescribe = await ortserve.describe('clf');
    const peer1 = await ExternalServer.startPeer(python, model.dir, 1, 2);
    stops.push(() => peer1.stop());
    const peer2 = await ExternalServer.startPeer(python, model.dir, 2, 1);
    stops.push(() => peer2.stop());
    const floor = await ExternalServer.startFloor(model.dir, 2);
    stops.push(() => floor.stop());
    log('peer section: servers ready');
    const targets: Record<PeerTarget, LoadTarget> = {
      ortserve: ortserveTarget('ortserve', ortserve),
      'peer 1 × 2': { name: 'peer 1 × 2', url: peer1.url, pid: peer1.pid, token: null, model: 'clf' },
      'peer 2 × 1': { name: 'peer 2 × 1', url: peer2.url, pid: peer2.pid, token: null, model: 'clf' },
      floor: { name: 'floor', url: floor.url, pid: floor.pid, token: null, model: 'clf' },
    };
    // Same tokenization, same model, same answer: a server that answered differently would not be a peer.
    const texts = loadCorpus(CORPUS_FILE).slice(0, 24);
    const expected = await answers(targets.ortserve, texts);
    for (const name of PEER_TARGETS.slice(1)) {
      const got = await answers(targets[name], texts);
      got.forEach((a, i) => {
        if (a !== expected[i]) report.disagreements.push(`${name}, text ${i}: "${a}" where ortserve answered "${expected[i]}"`);
      });
    }
    const corpusSize = loadCorpus(CORPUS_FILE).length;
    const c1: LoadPlan = { concurrency: 1, requests: corpusSize };
    const c32: LoadPlan = { concurrency: 32, durationSec: o.durationSec };
    for (let i = 0; i < o.repeats; i++) {
      const order = PEER_TARGETS.map((_, k) => PEER_TARGETS[(k + i) % PEER_TARGETS.length]!);
      // The floor is the concurrency-1 reference only: at 32 it would queue behind one session.
      for (const name of order) if (name !== 'floor') report.runs.push(await loadTarget(o, 'peer c32', targets[name], c32, i * 37));
      for (const name of order) report.runs.push(await loadTarget(o, 'peer c1', targets[name], c1, i * 37));
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
  return report;
}
