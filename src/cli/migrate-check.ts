/**
 * The check of `ortserve-migrate`: ortserve's built-in handler, loaded in this process on the converted
 * model, answers the archive's sample images (or texts); each answer is compared with what TorchServe's
 * handler answers with the original PyTorch model (check.json, written by tools/migrate/ortserve_migrate.py).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseModelConfig } from '../archive/model-config.js';
import { Context, type Handler, type ResponseValue } from '../handler-api/index.js';
import { prepareHandler } from '../workers/handler-source.js';

type Classes = Array<[string, number]>;
type Detections = Array<{ label: string; box: number[]; score: number }>;
type Segments = { classes: number[]; probs: number[] };

export interface CheckFile {
  handler: 'image_classifier' | 'image_segmenter' | 'object_detector' | 'text_classifier';
  /** How the original model was stored: a state dict + model file, TorchScript, or a Hugging Face save_pretrained. */
  model: 'eager' | 'torchscript' | 'pretrained';
  modelName: string;
  modelVersion: string;
  /** Files of the converted model dir that go into the archive beside model.onnx. */
  files: string[];
  /** An image sample names its file; a text sample names its file (or "text N") and carries the text. */
  samples: Array<{ image?: string; name?: string; text?: string; answer: Classes | Detections | Segments }>;
}

export interface SampleResult {
  image: string;
  /** Largest difference of a probability, score or box coordinate. */
  difference: number;
  /** Why the answers differ in kind (labels, order, count), or null. */
  mismatch: string | null;
}

async function loadHandler(check: CheckFile, modelDir: string): Promise<{ handler: Handler; ctx: Context }> {
  const yaml = path.join(modelDir, 'model-config.yaml');
  const mod = (await import(pathToFileURL((await prepareHandler(check.handler, modelDir, modelDir)).modulePath).href)) as { default: new () => Handler };
  const ctx = new Context({
    modelName: check.modelName,
    modelVersion: check.modelVersion,
    manifest: { runtime: 'python', model: { modelName: check.modelName, serializedFile: 'model.onnx', handler: check.handler } },
    systemProperties: { model_dir: modelDir, gpu_id: null, batch_size: 1, server_name: 'MMS', server_version: 'migrate', limit_max_image_pixels: true, intra_op_threads: 1 },
    // The converted model's own model-config.yaml (text_classifier reads its handler: section), as the server will.
    modelYamlConfig: existsSync(yaml) ? parseModelConfig(readFileSync(yaml, 'utf8'), 'model-config.yaml').raw : {},
  });
  const handler = new mod.default();
  await handler.initialize?.(ctx);
  return { handler, ctx };
}

function compare(handler: CheckFile['handler'], ours: ResponseValue, theirs: CheckFile['samples'][number]['answer']): Omit<SampleResult, 'image'> {
  if (handler === 'text_classifier') {
    // Asked as {"text", "top_k"}: [{label, score}], best first; compared like the image classifier's top-k.
    const ranked = Object.fromEntries((ours as Array<{ label: string; score: number }>).map(({ label, score }) => [label, score]));
    return compare('image_classifier', ranked, theirs);
  }
  if (handler === 'image_classifier') {
    const mine = Object.entries(ours as Record<string, number>);
    const expected = theirs as Classes;
    const difference = Math.max(0, ...expected.map(([label, p]) => Math.abs(((ours as Record<string, number>)[label] ?? Infinity) - p)));
    const same = mine.length === expected.length && mine.every(([label], i) => label === expected[i]![0]);
    return { difference, mismatch: same ? null : `top classes ${mine.map(([l]) => l).join(', ')} instead of ${expected.map(([l]) => l).join(', ')}` };
  }
  if (handler === 'object_detector') {
    const mine = (ours as Array<Record<string, number[] | number>>).map((d) => {
      const label = Object.keys(d).find((k) => k !== 'score')!;
      return { label, box: d[label] as number[], score: d['score'] as number };
    });
    const expected = theirs as Detections;
    if (mine.length !== expected.length) return { difference: Infinity, mismatch: `${mine.length} detections instead of ${expected.length}` };
    let difference = 0;
    for (const [i, d] of mine.entries()) {
      const e = expected[i]!;
      if (d.label !== e.label) return { difference: Infinity, mismatch: `detection ${i} is ${d.label} instead of ${e.label}` };
      difference = Math.max(difference, Math.abs(d.score - e.score), ...d.box.map((v, k) => Math.abs(v - e.box[k]!) / 100));
    }
    return { difference, mismatch: null };
  }
  const rows = (ours as Array<Array<[number, number]>>).flat();
  const expected = theirs as Segments;
  if (rows.length !== expected.classes.length) return { difference: Infinity, mismatch: `${rows.length} pixels instead of ${expected.classes.length}` };
  let differing = 0;
  let difference = 0;
  rows.forEach(([c, p], i) => {
    if (c !== expected.classes[i]) differing++;
    else difference = Math.max(difference, Math.abs(p - expected.probs[i]!));
  });
  // Pixels whose two best classes tie within float error may flip; more than 0.1% is a real difference.
  return { difference, mismatch: differing > rows.length / 1000 ? `${differing} pixels have another class` : null };
}

/** Runs ortserve's handler on every sample of check.json (in `modelDir`) and compares the answers. */
export async function checkMigration(modelDir: string): Promise<{ check: CheckFile; results: SampleResult[] }> {
  const check = JSON.parse(readFileSync(path.join(modelDir, 'check.json'), 'utf8')) as CheckFile;
  const { handler, ctx } = await loadHandler(check, modelDir);
  const results: SampleResult[] = [];
  for (const sample of check.samples) {
    ctx.startBatch(['sample'], [{}]);
    const body = sample.text !== undefined
      ? JSON.stringify({ text: sample.text, top_k: (sample.answer as Classes).length })
      : new Uint8Array(readFileSync(sample.image ?? ''));
    const [answer] = await handler.handle([{ body }], ctx);
    results.push({ image: sample.name ?? path.basename(sample.image ?? ''), ...compare(check.handler, answer, sample.answer) });
  }
  return { check, results };
}
