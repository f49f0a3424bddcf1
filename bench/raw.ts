/**
 * The raw ceiling: a bare onnxruntime-node loop over the benchmark corpus, in its own process, with no
 * server, no HTTP and no scheduling. Texts are tokenized up front (by the server's tokenizer code, cut at
 * 210 tokens), sorted by token length and cut into batches of consecutive texts, each padded to its
 * longest text; every (batch size × intra-op threads) setting runs whole passes over the corpus, and the
 * best sequences/s is the ceiling. "2 sessions × 1 thread" runs two sessions in two worker threads that
 * take batches from one shared counter. The single-sequence latency is batch 1, 2 threads, corpus order.
 *
 *   node dist/bench/raw.js --model-dir DIR [--batches 1,2,4,8,16] [--threads 1,2] [--pairs]
 *                          [--min-seconds 3] [--single] [--expect SEQ_PER_S] [--max-length 210] [--json]
 *
 * `--threads none --pairs` measures only 2 sessions × 1 thread; `--batches none --single` only the latency.
 *
 * With --json the last stdout line is the RawResult as JSON (what bench/run.ts reads).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { CORPUS_FILE, MAX_LENGTH, loadCorpus } from './lib/corpus.js';
import { ORT_VERSION, runBatch, serverSessionOptions, sessionInputs, tokenizeCorpus } from './lib/ort-bench.js';
import { corpusStats, fmt, paddedTokens, sortedBatches, summarizeLatencies, type CorpusStats, type LatencySummary } from './lib/stats.js';

export interface RawPoint {
  sessions: number;
  threads: number;
  batch: number;
  seqPerSec: number;
  /** Padded tokens per second (what the CPU computes over). */
  paddedTokPerSec: number;
  passes: number;
  seconds: number;
}

export interface RawResult {
  model: string;
  ortVersion: string;
  corpus: CorpusStats;
  /** Padded tokens of one pass at each batch size, as a share of the real tokens. */
  paddingOverhead: Record<string, number>;
  sweep: RawPoint[];
  best: RawPoint | null;
  single: (LatencySummary & { threads: number }) | null;
  sessionCreateMs: number;
}

interface WorkerInput {
  modelPath: string;
  batches: number[][][];
  padTokenId: number;
  counter: SharedArrayBuffer;
  total: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whole passes over the batches until `minSeconds` have passed (at least one). */
async function timePasses(
  session: ort.InferenceSession,
  batches: number[][][],
  padTokenId: number,
  minSeconds: number,
): Promise<{ passes: number; seconds: number }> {
  const inputs = sessionInputs(session);
  // Warm-up: the shortest and the longest shapes once each (first runs of a shape allocate).
  await runBatch(session, inputs, batches[0]!, padTokenId);
  await runBatch(session, inputs, batches[batches.length - 1]!, padTokenId);
  const t0 = performance.now();
  let passes = 0;
  do {
    for (const b of batches) await runBatch(session, inputs, b, padTokenId);
    passes++;
  } while (performance.now() - t0 < minSeconds * 1000);
  return { passes, seconds: (performance.now() - t0) / 1000 };
}

/** Two sessions × 1 thread in two worker threads, sharing a counter over `passes` passes of the batches. */
async function timePair(modelPath: string, batches: number[][][], padTokenId: number, passes: number): Promise<number> {
  const counter = new SharedArrayBuffer(8);
  const input: WorkerInput = { modelPath, batches, padTokenId, counter, total: batches.length * passes };
  const workers = [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: input }));
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    })));
    const t0 = performance.now();
    const done = workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    }));
    for (const w of workers) w.postMessage('go');
    await Promise.all(done);
    return (performance.now() - t0) / 1000;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function workerMain(): Promise<void> {
  const input = workerData as WorkerInput;
  const session = await ort.InferenceSession.create(input.modelPath, serverSessionOptions(1));
  const inputs = sessionInputs(session);
  await runBatch(session, inputs, input.batches[0]!, input.padTokenId);
  await runBatch(session, inputs, input.batches[input.batches.length - 1]!, input.padTokenId);
  const counter = new Int32Array(input.counter);
  parentPort!.once('message', async () => {
    for (;;) {
      const i = Atomics.add(counter, 0, 1);
      if (i >= input.total) break;
      await runBatch(session, inputs, input.batches[i % input.batches.length]!, input.padTokenId);
    }
    parentPort!.postMessage('done');
  });
  parentPort!.postMessage('ready');
}

export interface RawOptions {
  modelDir: string;
  batches: number[];
  threads: number[];
  pairs: boolean;
  minSeconds: number;
  single: boolean;
  /** Expected seq/s, to size the 2×1 runs when no 1-session point was measured. */
  expect?: number;
  /** Truncation length, as the model's handler `max_length` (default 210, the generated models'). */
  maxLength?: number;
  log?: (m: string) => void;
}

export async function measureRaw(o: RawOptions): Promise<RawResult> {
  const log = o.log ?? (() => undefined);
  const texts = loadCorpus(CORPUS_FILE);
  const maxLength = o.maxLength ?? MAX_LENGTH;
  const { ids, padTokenId } = tokenizeCorpus(o.modelDir, texts, maxLength);
  const lengths = ids.map((s) => s.length);
  const realTokens = lengths.reduce((a, b) => a + b, 0);
  const modelPath = path.join(o.modelDir, 'model.onnx');
  const plans = new Map(o.batches.map((b) => [b, sortedBatches(lengths, b)] as const));
  /** One sweep point: `passes` whole passes over the corpus in `seconds`. */
  const rawPoint = (sessions: number, threads: number, batch: number, passes: number, seconds: number): RawPoint => ({
    sessions,
    threads,
    batch,
    seqPerSec: (texts.length * passes) / seconds,
    paddedTokPerSec: (paddedTokens(plans.get(batch)!) * passes) / seconds,
    passes,
    seconds,
  });
  const seqBatches = (b: number): number[][][] => plans.get(b)!.map((p) => p.rows.map((r) => ids[r]!));
  const paddingOverhead = Object.fromEntries(o.batches.map((b) => [String(b), paddedTokens(plans.get(b)!) / realTokens]));

  const sweep: RawPoint[] = [];
  let sessionCreateMs = Number.NaN;
  for (const threads of o.threads) {
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(modelPath, serverSessionOptions(threads));
    if (threads === Math.max(...o.threads)) sessionCreateMs = performance.now() - t0;
    for (const batch of o.batches) {
      const { passes, seconds } = await timePasses(session, seqBatches(batch), padTokenId, o.minSeconds);
      const point = rawPoint(1, threads, batch, passes, seconds);
      sweep.push(point);
      log(`raw 1×${threads} batch ${batch}: ${fmt(point.seqPerSec)} seq/s`);
    }
    await session.release();
  }
  if (o.pairs) {
    for (const batch of o.batches) {
      // Enough whole passes for about minSeconds, estimated from the 1-session rate at this batch size.
      const ref = sweep.filter((p) => p.batch === batch).reduce((a, p) => Math.max(a, p.seqPerSec), 0) || o.expect || 50;
      const passes = Math.max(1, Math.round((o.minSeconds * ref) / texts.length));
      const seconds = await timePair(modelPath, seqBatches(batch), padTokenId, passes);
      const point = rawPoint(2, 1, batch, passes, seconds);
      sweep.push(point);
      log(`raw 2×1 batch ${batch}: ${fmt(point.seqPerSec)} seq/s`);
    }
  }

  let single: RawResult['single'] = null;
  if (o.single) {
    const session = await ort.InferenceSession.create(modelPath, serverSessionOptions(2));
    const inputs = sessionInputs(session);
    for (const seq of ids.slice(0, 10)) await runBatch(session, inputs, [seq], padTokenId);
    await sleep(20);
    const times: number[] = [];
    for (const seq of ids) times.push(await runBatch(session, inputs, [seq], padTokenId));
    await session.release();
    single = { ...summarizeLatencies(times), threads: 2 };
    log(`raw single (batch 1, 2 threads, corpus order): p50 ${fmt(single.p50, 2)} ms`);
  }

  const best = sweep.reduce<RawPoint | null>((a, p) => (a === null || p.seqPerSec > a.seqPerSec ? p : a), null);
  return {
    model: path.basename(path.dirname(o.modelDir)),
    ortVersion: ORT_VERSION,
    corpus: corpusStats(texts, lengths, maxLength),
    paddingOverhead,
    sweep,
    best,
    single,
    sessionCreateMs,
  };
}

function list(value: string | undefined, fallback: number[]): number[] {
  if (!value) return fallback;
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: ${s}`);
    return n;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'model-dir': { type: 'string' },
      batches: { type: 'string' },
      threads: { type: 'string' },
      pairs: { type: 'boolean', default: false },
      'min-seconds': { type: 'string', default: '3' },
      single: { type: 'boolean', default: false },
      expect: { type: 'string' },
      'max-length': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values['model-dir']) throw new Error('--model-dir is required (a directory with model.onnx and tokenizer.json)');
  readFileSync(path.join(values['model-dir'], 'model.onnx'), { flag: 'r' }).byteLength; // fail early if missing
  const result = await measureRaw({
    modelDir: values['model-dir'],
    batches: values.batches === 'none' ? [] : list(values.batches, [1, 2, 4, 8, 16]),
    threads: values.threads === 'none' ? [] : list(values.threads, [1, 2]),
    ...(values.expect ? { expect: Number(values.expect) } : {}),
    ...(values['max-length'] ? { maxLength: Number(values['max-length']) } : {}),
    pairs: values.pairs ?? false,
    minSeconds: Number(values['min-seconds']),
    single: values.single ?? false,
    log: (m) => (values.json ? process.stderr.write(`${m}\n`) : console.log(m)),
  });
  if (values.json) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
}

if (!isMainThread) {
  void workerMain();
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
