/**
 * `npm run bench:vision`: the image-classifier row. On the same photographs (test/fixtures/vision/images,
 * or --images DIR) and model (the fixture classifier, or --model FILE with densenet's interface):
 *
 * - decode cost: sharp decode + PIL-exact resize/crop/normalise per image, in this process;
 * - raw ONNX Runtime: a bare session loop on the already-decoded tensors (batch 1 and batch 8, the
 *   server's session options), the ceiling without HTTP, decoding or scheduling;
 * - the server (`ortserve --start --foreground`, 1 worker, batch_size 8, max_batch_delay 5): requests/s
 *   with image bytes at concurrency 1 and 32, over HTTP from this process.
 *
 * Raw and server runs alternate, --repeats times (default 3); the report gives medians and the range.
 * `npm run bench`'s image section (bench/section-image.ts) runs the same measurement.
 *   node dist/bench/vision.js [--seconds 5] [--repeats 3] [--model FILE] [--images DIR]
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { decodeImage } from '../src/handlers/vision/decode.js';
import { defaultSettings } from '../src/handlers/vision/settings.js';
import { toTensor, type ChwTensor } from '../src/handlers/vision/transforms.js';
import { createArchive } from '../src/archive/writer.js';
import { PROJECT_ROOT } from './lib/corpus.js';
import { log } from './lib/script-process.js';
import { ServerProcess, machineBusy } from './lib/server-process.js';
import { fmt, markdownTable, median } from './lib/stats.js';

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'vision');

export interface VisionBenchOptions {
  /** Length of each load and raw loop. */
  seconds: number;
  repeats: number;
  /** An ONNX image classifier with densenet's interface. */
  model: string;
  /** A folder of JPEG/PNG images. */
  images: string;
}

/** What one run measured: per-repeat values, in run order (raw and server loads interleaved). */
export interface VisionBenchResult {
  options: VisionBenchOptions;
  images: string[];
  /** Decode + transform, ms per image, one value per round over all the images (5 rounds). */
  decodeMs: number[];
  raw1: number[];
  raw8: number[];
  c1: number[];
  c32: number[];
  busyBefore: number;
}

export function defaultVisionOptions(): VisionBenchOptions {
  return { seconds: 5, repeats: 3, model: path.join(FIXTURES, 'classifier.onnx'), images: path.join(FIXTURES, 'images') };
}

function options(): VisionBenchOptions {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, repeats: { type: 'string' }, model: { type: 'string' }, images: { type: 'string' } } });
  return {
    seconds: Number(values.seconds ?? 5),
    repeats: Number(values.repeats ?? 3),
    model: path.resolve(values.model ?? defaultVisionOptions().model),
    images: path.resolve(values.images ?? defaultVisionOptions().images),
  };
}

/** ms per image of each of 5 rounds over all the images (the mean of the round, so rounds compare). */
async function decodeCost(photos: Buffer[]): Promise<{ tensors: ChwTensor[]; times: number[] }> {
  const settings = defaultSettings('image_classifier');
  const times: number[] = [];
  let tensors: ChwTensor[] = [];
  for (let rep = 0; rep < 5; rep++) {
    tensors = [];
    const t0 = performance.now();
    for (const bytes of photos) tensors.push(toTensor(await decodeImage(bytes, settings.maxImagePixels), settings.transform));
    times.push((performance.now() - t0) / photos.length);
  }
  return { tensors, times };
}

async function rawImagesPerSec(session: ort.InferenceSession, tensors: ChwTensor[], batch: number, seconds: number): Promise<number> {
  const plane = 3 * 224 * 224;
  const feeds = tensors.map((_, i) => {
    const data = new Float32Array(plane * batch);
    for (let b = 0; b < batch; b++) data.set(tensors[(i + b) % tensors.length]!.data, b * plane);
    return { [session.inputNames[0]!]: new ort.Tensor('float32', data, [batch, 3, 224, 224]) };
  });
  let images = 0;
  const end = performance.now() + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    await session.run(feeds[i % feeds.length]!);
    images += batch;
  }
  return images / seconds;
}

async function serverRequestsPerSec(url: string, token: string | null, photos: Buffer[], concurrency: number, seconds: number): Promise<number> {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      for (let i = c; performance.now() < end; i += concurrency) {
        const r = await fetch(`${url}/predictions/clf`, { method: 'POST', headers, body: photos[i % photos.length]! });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        done++;
      }
    }),
  );
  return done / seconds;
}

const range = (v: number[], digits?: number): string => `${fmt(median(v), digits)} (${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)})`;

/** Decode cost, then raw ONNX Runtime and the server interleaved, `o.repeats` times. */
export async function measureVision(o: VisionBenchOptions): Promise<VisionBenchResult> {
  const names = readdirSync(o.images).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort();
  const photos = names.map((n) => readFileSync(path.join(o.images, n)));
  const busy = await machineBusy();
  log(`${photos.length} images, model ${path.basename(o.model)}, ${o.seconds} s per load, ${o.repeats} repeats; ${fmt(busy, 2)} cores busy before`);
  const { tensors, times } = await decodeCost(photos);
  const session = await ort.InferenceSession.create(o.model, { intraOpNumThreads: os.availableParallelism(), interOpNumThreads: 1, graphOptimizationLevel: 'all' });

  const server = await ServerProcess.start({ label: 'vision', properties: {} });
  const work = path.join(server.dir, 'archive');
  await createArchive({ modelName: 'clf', version: '1.0', handler: 'image_classifier', serializedFile: o.model, extraFiles: path.join(FIXTURES, 'classifier.index_to_name.json'), exportPath: work });
  await server.register({ mar: path.join(work, 'clf.mar'), modelName: 'clf', batchSize: 8, maxBatchDelay: 5, initialWorkers: 1 });
  const token = server.token('inference');
  const raw1: number[] = [];
  const raw8: number[] = [];
  const c1: number[] = [];
  const c32: number[] = [];
  try {
    await serverRequestsPerSec(server.inferenceUrl, token, photos, 4, 1); // warm-up
    for (let r = 0; r < o.repeats; r++) {
      raw1.push(await rawImagesPerSec(session, tensors, 1, o.seconds));
      c1.push(await serverRequestsPerSec(server.inferenceUrl, token, photos, 1, o.seconds));
      raw8.push(await rawImagesPerSec(session, tensors, 8, o.seconds));
      c32.push(await serverRequestsPerSec(server.inferenceUrl, token, photos, 32, o.seconds));
      log(`repeat ${r + 1}: raw b1 ${fmt(raw1[r])}, c1 ${fmt(c1[r])}, raw b8 ${fmt(raw8[r])}, c32 ${fmt(c32[r])}`);
    }
  } finally {
    await server.stop();
    await session.release();
  }
  return { options: o, images: names, decodeMs: times, raw1, raw8, c1, c32, busyBefore: busy };
}

/** The image-classifier table, Markdown. */
export function renderVision(r: VisionBenchResult): string {
  const rawBest = r.raw1.map((v, i) => Math.max(v, r.raw8[i]!));
  const table = markdownTable(
    ['image_classifier', 'median (min–max)'],
    [
      ['decode + transform, ms per image (sharp + PIL-exact resize)', range(r.decodeMs, 2)],
      ['raw ONNX Runtime, images/s, batch 1', range(r.raw1)],
      ['raw ONNX Runtime, images/s, batch 8', range(r.raw8)],
      ['server, requests/s, concurrency 1', range(r.c1)],
      ['server, requests/s, concurrency 32', range(r.c32)],
      ['server c1 ÷ raw batch 1 (same decoded images)', range(r.c1.map((v, i) => v / r.raw1[i]!), 2)],
      ['server c32 ÷ best raw (same decoded images)', range(r.c32.map((v, i) => v / rawBest[i]!), 2)],
    ],
  );
  return `${table}

${r.images.length} images (${r.images.join(', ')}), model ${path.basename(r.options.model)}, ${r.options.seconds} s per load, ` +
    `${r.options.repeats} interleaved repeats; 1 worker, batch_size 8, max_batch_delay 5; ${os.availableParallelism()} cores, ${fmt(r.busyBefore, 2)} busy before the run (machine shared).`;
}

async function main(): Promise<void> {
  console.log(renderVision(await measureVision(options())));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
