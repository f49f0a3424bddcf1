/**
 * Can two workers share one copy of the weights with onnxruntime-node 1.30? The Node binding exposes
 * no shared-initializer or prepacked-weights-container API (`AddInitializer`, `CreateEnvWithGlobalThreadPools`
 * + `CreateSessionWithPrepackedWeightsContainer` are C/C++/Python only), but it passes `extra.session.*`
 * config entries through, and three of them matter:
 *
 * - `session.use_memory_mapped_ort_model=1` with `session.load_model_format=ORT`: the model file is
 *   mmapped instead of read into a private buffer;
 * - `session.use_ort_model_bytes_for_initializers=1`: initializers point into those bytes instead of
 *   being copied, so two sessions of one file share the page cache;
 * - `session.disable_prepacking=1`: MLAS does not re-pack GEMM weights into a private buffer per session.
 *
 * They only work for an ORT-format model. onnxruntime-node can write one itself: a session created with
 * `optimizedModelFilePath` and `session.save_model_format=ORT` saves the optimized graph (tied to this
 * CPU's instruction set when optimized at level "all").
 *
 * Each case runs in a fresh process: two sessions opened one after the other (as two workers would, in
 * one process), and after each the process's VmRSS, RssAnon (private copies) and Pss (file pages counted
 * once) are read; then one session's throughput over the corpus at batch 8, 2 threads.
 *
 *   node dist/bench/sharing.js --model-dir DIR [--json]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { CORPUS_FILE, loadCorpus } from './lib/corpus.js';
import { runBatch, serverSessionOptions, sessionInputs, tokenizeCorpus } from './lib/ort-bench.js';
import { sortedBatches } from './lib/stats.js';

export type SharingCase = 'onnx' | 'ort-mmap' | 'ort-mmap-noprepack';
export const SHARING_CASES: readonly SharingCase[] = ['onnx', 'ort-mmap', 'ort-mmap-noprepack'];

export interface SharingPoint {
  case: SharingCase;
  /** MiB after the first / second session (each after one warm-up batch). */
  rss: [number, number];
  anon: [number, number];
  pss: [number, number];
  /** What the second session added, MiB. */
  secondRss: number;
  secondAnon: number;
  secondPss: number;
  createMs: [number, number];
  /** One session, 2 threads, corpus sorted, batch 8, one pass. */
  seqPerSec: number;
}

function memory(): { rss: number; anon: number; pss: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (text: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 1024;
  let pss = Number.NaN;
  try {
    pss = kb(readFileSync('/proc/self/smaps_rollup', 'utf8'), 'Pss');
  } catch {
    // no smaps_rollup
  }
  return { rss: kb(status, 'VmRSS'), anon: kb(status, 'RssAnon'), pss };
}

function caseSessionExtras(c: SharingCase): Record<string, string> {
  if (c === 'onnx') return {};
  const extra: Record<string, string> = {
    load_model_format: 'ORT',
    use_memory_mapped_ort_model: '1',
    use_ort_model_bytes_for_initializers: '1',
  };
  if (c === 'ort-mmap-noprepack') extra.disable_prepacking = '1';
  return extra;
}

/** Writes `<dir>/model.ort` (once) in a child process, so the conversion's memory does not pollute a case. */
export function ensureOrtModel(modelDir: string): string {
  const target = path.join(modelDir, 'model.ort');
  const source = path.join(modelDir, 'model.onnx');
  if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) return target;
  execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--convert', modelDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return target;
}

async function convert(modelDir: string): Promise<void> {
  const tmp = path.join(modelDir, `model.ort.tmp-${process.pid}`);
  const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), {
    ...serverSessionOptions(1, { save_model_format: 'ORT' }),
    optimizedModelFilePath: tmp,
    logSeverityLevel: 3,
  });
  await session.release();
  renameSync(tmp, path.join(modelDir, 'model.ort'));
}

async function runCase(modelDir: string, c: SharingCase): Promise<SharingPoint> {
  const texts = loadCorpus(CORPUS_FILE);
  const { ids, padTokenId } = tokenizeCorpus(modelDir, texts);
  const batches = sortedBatches(ids.map((s) => s.length), 8).map((b) => b.rows.map((r) => ids[r]!));
  const file = path.join(modelDir, c === 'onnx' ? 'model.onnx' : 'model.ort');
  const mid = batches[Math.floor(batches.length / 2)]!;
  const sessions: ort.InferenceSession[] = [];
  const mem: Array<{ rss: number; anon: number; pss: number }> = [];
  const createMs: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(file, serverSessionOptions(i === 0 ? 2 : 1, caseSessionExtras(c)));
    createMs.push(performance.now() - t0);
    await runBatch(s, sessionInputs(s), mid, padTokenId);
    sessions.push(s);
    mem.push(memory());
  }
  const s = sessions[0]!;
  const inputs = sessionInputs(s);
  await runBatch(s, inputs, batches[batches.length - 1]!, padTokenId);
  const t0 = performance.now();
  for (const b of batches) await runBatch(s, inputs, b, padTokenId);
  const seqPerSec = texts.length / ((performance.now() - t0) / 1000);
  const [a, b] = mem as [(typeof mem)[0], (typeof mem)[0]];
  return {
    case: c,
    rss: [a.rss, b.rss],
    anon: [a.anon, b.anon],
    pss: [a.pss, b.pss],
    secondRss: b.rss - a.rss,
    secondAnon: b.anon - a.anon,
    secondPss: b.pss - a.pss,
    createMs: [createMs[0]!, createMs[1]!],
    seqPerSec,
  };
}

/** Runs every case in its own process and returns the points. */
export function measureSharing(modelDir: string, log: (m: string) => void = () => undefined): SharingPoint[] {
  ensureOrtModel(modelDir);
  const points: SharingPoint[] = [];
  for (const c of SHARING_CASES) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--case', c, '--model-dir', modelDir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 20,
    });
    const p = JSON.parse(out.trim().split('\n').pop()!) as SharingPoint;
    log(`sharing ${c}: 2nd session +${p.secondRss.toFixed(0)} MiB RSS, +${p.secondAnon.toFixed(0)} MiB anon, +${p.secondPss.toFixed(0)} MiB PSS, ${p.seqPerSec.toFixed(1)} seq/s`);
    points.push(p);
  }
  return points;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'model-dir': { type: 'string' },
      convert: { type: 'string' },
      case: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.convert) return convert(values.convert);
  const dir = values['model-dir'];
  if (!dir) throw new Error('--model-dir is required');
  if (values.case) {
    if (!SHARING_CASES.includes(values.case as SharingCase)) throw new Error(`unknown case ${values.case}`);
    console.log(JSON.stringify(await runCase(dir, values.case as SharingCase)));
    return;
  }
  const points = measureSharing(dir, (m) => (values.json ? process.stderr.write(`${m}\n`) : console.log(m)));
  if (values.json) console.log(JSON.stringify(points));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
