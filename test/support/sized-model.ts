/**
 * Text classifiers of a chosen size for the weight-sharing and operating-point tests (issue 16): a real
 * DistilBERT graph with random weights, big enough that a copy of its weights stands out from a worker
 * thread's own memory. Built once per size in a test process.
 */
import path from 'node:path';
import { buildModelFiles } from '../../tools/modelgen/model-dir.js';
import { writeMar } from './archives.js';

/** 2 layers × 768 with a 8,000-token vocabulary: about 20 M parameters, 80 MB of fp32 weights. */
export const MID_MODEL = { layers: 2, hidden: 768, heads: 12, ffn: 3072, vocabSize: 8000, maxPosition: 128 } as const;

/** 4 layers × 768 with a 30,000-token vocabulary: about 51 M parameters, 200 MB of fp32 weights. */
export const BIG_MODEL = { ...MID_MODEL, layers: 4, vocabSize: 30000 } as const;

type Dims = typeof MID_MODEL | typeof BIG_MODEL;

const cache = new Map<string, Record<string, Uint8Array | string>>();

export function sizedModelFiles(seed = 3, dims: Dims = MID_MODEL): Record<string, Uint8Array | string> {
  const key = JSON.stringify([seed, dims]);
  let files = cache.get(key);
  if (!files) {
    files = buildModelFiles({ preset: 'tiny', labels: ['no', 'yes'], seed, initializerRange: 0.2, ...dims }).files;
    cache.set(key, files);
  }
  return files;
}

/** A text_classifier model directory (an unzipped archive: zipping 200 MB is slow) in `modelStore`; returns its name. */
export function writeSizedMar(modelStore: string, name: string, yaml?: string, seed = 3, dims: Dims = MID_MODEL): string {
  const files = Object.fromEntries(Object.entries(sizedModelFiles(seed, dims)).map(([k, v]) => [k, Buffer.from(v)]));
  return writeMar(modelStore, { name, directory: true, handler: 'text_classifier', serializedFile: 'model.onnx', files, ...(yaml === undefined ? {} : { yaml }) });
}

export function modelBytes(seed = 3, dims: Dims = MID_MODEL): number {
  return (sizedModelFiles(seed, dims)['model.onnx'] as Uint8Array).byteLength;
}

export const onnxPath = (dir: string): string => path.join(dir, 'model.onnx');
