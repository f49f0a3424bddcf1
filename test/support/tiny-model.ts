/**
 * A tiny DistilBERT text classifier for tests: real ONNX graph, real tokenizer files, random weights.
 * Generation takes a few tens of milliseconds; results are cached per option set, so a test suite that
 * writes many model directories pays for each variant once.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildModelFiles } from '../../tools/modelgen/model-dir.js';

export interface TinyTextModelOptions {
  /** Label names, index order (default `['Not Accepted', 'Accepted']`). */
  labels?: string[];
  /** Also write index_to_name.json with the same labels. */
  withIndexToName?: boolean;
  /** Weight seed (default 3: a seed whose answers vary across ordinary sentences, in both languages). */
  seed?: number;
  /** Declare (and use) a `token_type_ids` input, as BERT exports do. */
  tokenTypeIds?: boolean;
}

export const DEFAULT_TINY_LABELS: readonly string[] = ['Not Accepted', 'Accepted'];

const cache = new Map<string, Record<string, Uint8Array | string>>();

/** Writes model.onnx, tokenizer.json, tokenizer_config.json and config.json (+ index_to_name.json) into `dir`. */
export async function writeTinyTextModel(dir: string, opts: TinyTextModelOptions = {}): Promise<void> {
  const labels = opts.labels ?? [...DEFAULT_TINY_LABELS];
  const seed = opts.seed ?? 3;
  const tokenTypeIds = opts.tokenTypeIds ?? false;
  const key = JSON.stringify([labels, seed, tokenTypeIds, opts.withIndexToName ?? false]);
  let files = cache.get(key);
  if (!files) {
    files = buildModelFiles({
      preset: 'tiny',
      labels,
      seed,
      tokenTypeIds,
      withIndexToName: opts.withIndexToName ?? false,
      // Larger than BERT's 0.02 so that random logits are not near-ties: different texts then get
      // visibly different scores, which the tests rely on.
      initializerRange: 0.2,
    }).files;
    cache.set(key, files);
  }
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(files).map(([name, content]) => writeFile(path.join(dir, name), content)));
}
