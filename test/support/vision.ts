/**
 * The vision fixtures (test/fixtures/vision, made by tools/vision/make_fixtures.py): trained ONNX models
 * in the interfaces of TorchServe's three vision handlers, test images, and the answers of the PyTorch
 * reference pipeline (PIL + torchvision transforms + the eager models) in reference.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeMar } from './archives.js';
import type { TestServer } from './server.js';

export const VISION_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/vision/', import.meta.url));
export const VISION_IMAGES = path.join(VISION_FIXTURES, 'images');

export type VisionFixture = 'classifier' | 'segmenter' | 'detector';
const HANDLERS: Record<VisionFixture, string> = { classifier: 'image_classifier', segmenter: 'image_segmenter', detector: 'object_detector' };

export interface Reference {
  /** Softmax probabilities of every class, per image. */
  classifier: Record<string, number[]>;
  detector: Record<string, Array<{ box: number[]; label: number; score: number }>>;
  segmenter: Record<string, { shape: [number, number]; classes_u8_zlib_b64: string; probs_f32_zlib_b64: string }>;
}

export function readReference(): Reference {
  return JSON.parse(readFileSync(path.join(VISION_FIXTURES, 'reference.json'), 'utf8')) as Reference;
}

export function image(name: string): Buffer {
  return readFileSync(path.join(VISION_IMAGES, name));
}

/** Writes `<name>.mar` for a fixture model into the model store (with its index_to_name.json unless `labels` is false). */
export function writeVisionMar(modelStore: string, fixture: VisionFixture, o: { name?: string; yaml?: string; labels?: boolean } = {}): string {
  const files: Record<string, Buffer> = { 'model.onnx': readFileSync(path.join(VISION_FIXTURES, `${fixture}.onnx`)) };
  const labels = path.join(VISION_FIXTURES, `${fixture}.index_to_name.json`);
  if (o.labels !== false && fixture !== 'segmenter') files['index_to_name.json'] = readFileSync(labels);
  return writeMar(modelStore, { name: o.name ?? fixture, handler: HANDLERS[fixture], serializedFile: 'model.onnx', files, ...(o.yaml === undefined ? {} : { yaml: o.yaml }) });
}

/** POSTs a body to /predictions/<model> (with the inference key) and returns the status and the parsed (or text) answer. */
export async function predict(s: TestServer, model: string, body: Buffer | string | FormData, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(`${s.inferenceUrl}/predictions/${model}`, { method: 'POST', headers: { ...s.auth('inference'), ...headers }, body });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the text itself.
  }
  return { status: r.status, body: parsed };
}
