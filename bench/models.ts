/**
 * Benchmark models, generated on demand into `.bench/models/` (gitignored) and reused while their
 * options are unchanged: the DistilBERT-base-sized classifier (6 layers × 768, vocab 30522 built from
 * the corpus) in fp32 and int8, and the tiny one. Each is a model directory (for the raw loop) and a
 * `.mar` written by the same code as `ortserve-archiver` (handler `text_classifier`, serializedFile
 * model.onnx, tokenizer files, config.json, model-config.yaml with `handler: {max_length: 210}`).
 *
 * `node dist/bench/models.js [base-fp32 base-int8 tiny]` generates them ahead of a run.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createArchive } from '../src/archive/writer.js';
import { writeModelDir, type ModelDirOptions } from '../tools/modelgen/index.js';
import { CORPUS_FILE, LABELS, MAX_LENGTH, PROJECT_ROOT, loadCorpus } from './lib/corpus.js';

export type BenchModelName = 'base-fp32' | 'base-int8' | 'tiny';
export const BENCH_MODELS: readonly BenchModelName[] = ['base-fp32', 'base-int8', 'tiny'];

export interface BenchModel {
  name: BenchModelName;
  /** Model directory: model.onnx, tokenizer.json, tokenizer_config.json, config.json, model-config.yaml. */
  dir: string;
  /** The `.mar` (inside `dir/../store-<name>/`, a directory that holds only it). */
  mar: string;
  /** Directory holding the `.mar`, usable as a model store. */
  store: string;
  options: ModelDirOptions;
  /** Bytes of model.onnx. */
  onnxBytes: number;
}

export const BENCH_DIR = path.join(PROJECT_ROOT, '.bench');

/** Generation options of each benchmark model. Changing any of them (or the corpus) makes a new key. */
export function modelOptions(name: BenchModelName, corpus: readonly string[]): ModelDirOptions {
  const common = { labels: LABELS, corpus, seed: 7, doLowerCase: true, modelMaxLength: 512 };
  switch (name) {
    case 'base-fp32':
      return { ...common, preset: 'base', dtype: 'fp32' };
    case 'base-int8':
      return { ...common, preset: 'base', dtype: 'int8' };
    case 'tiny':
      // The tiny preset's layers and width, with the base vocabulary and position table, so that it sees
      // exactly the same token sequences (the preset's 800-word vocab and 128 positions would change them).
      return { ...common, preset: 'tiny', vocabSize: 30522, maxPosition: 512, initializerRange: 0.2 };
  }
}

const MODEL_CONFIG_YAML = `# Written by bench/models.ts. Serving settings come from the register call of each scenario.
handler:
  max_length: ${MAX_LENGTH}
`;

function keyOf(name: BenchModelName, options: ModelDirOptions): string {
  const { corpus, ...rest } = options;
  const h = createHash('sha256');
  h.update(JSON.stringify({ name, rest, maxLength: MAX_LENGTH, format: 2 }));
  h.update(createHash('sha256').update([...(corpus ?? [])].join('\n')).digest());
  // The generator's own source: a change to the graph or tokenizer builder makes new files.
  for (const f of ['tools/modelgen/distilbert.ts', 'tools/modelgen/tokenizer.ts', 'tools/modelgen/quantize.ts']) {
    const file = path.join(PROJECT_ROOT, f);
    if (existsSync(file)) h.update(readFileSync(file));
  }
  return h.digest('hex').slice(0, 12);
}

/** Returns the model, generating it first unless a complete copy with the same key exists. */
export async function ensureModel(name: BenchModelName, log: (m: string) => void = () => undefined): Promise<BenchModel> {
  const corpus = loadCorpus(CORPUS_FILE);
  const options = modelOptions(name, corpus);
  const root = path.join(BENCH_DIR, 'models', `${name}-${keyOf(name, options)}`);
  const dir = path.join(root, 'model');
  const store = path.join(root, 'store');
  const mar = path.join(store, `${name}.mar`);
  const done = path.join(root, 'done.json');
  if (!existsSync(done) || !existsSync(mar)) {
    const started = Date.now();
    log(`generating ${name} into ${path.relative(PROJECT_ROOT, root)} …`);
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const tmpDir = path.join(tmp, 'model');
    const summary = await writeModelDir(tmpDir, options);
    writeFileSync(path.join(tmpDir, 'model-config.yaml'), MODEL_CONFIG_YAML);
    const tmpStore = path.join(tmp, 'store');
    mkdirSync(tmpStore, { recursive: true });
    await createArchive({
      modelName: name,
      version: '1.0',
      handler: 'text_classifier',
      serializedFile: path.join(tmpDir, 'model.onnx'),
      extraFiles: ['tokenizer.json', 'tokenizer_config.json', 'config.json'].map((f) => path.join(tmpDir, f)).join(','),
      configFile: path.join(tmpDir, 'model-config.yaml'),
      exportPath: tmpStore,
      // Stored, not deflated: random weights do not compress, and the server extracts faster.
      archiveFormat: 'zip-store',
      force: true,
    });
    writeFileSync(path.join(tmp, 'done.json'), `${JSON.stringify({ name, files: summary.files, parameters: summary.parameters }, null, 2)}\n`);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(path.dirname(root), { recursive: true });
    renameSync(tmp, root);
    log(`generated ${name} (${summary.parameters.toLocaleString('en-US')} parameters) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const info = JSON.parse(readFileSync(done, 'utf8')) as { files: Record<string, number> };
  return { name, dir, mar, store, options, onnxBytes: info.files['model.onnx'] ?? 0 };
}

async function main(argv: string[]): Promise<void> {
  const names = (argv.length ? argv : BENCH_MODELS) as BenchModelName[];
  for (const n of names) {
    if (!BENCH_MODELS.includes(n)) throw new Error(`unknown model ${n} (one of ${BENCH_MODELS.join(', ')})`);
    const m = await ensureModel(n, (msg) => console.log(msg));
    console.log(`${n}: ${m.mar} (model.onnx ${(m.onnxBytes / 2 ** 20).toFixed(1)} MiB)`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
