/**
 * Writes a complete Hugging Face-style model directory for a generated DistilBERT classifier:
 * model.onnx, tokenizer.json, tokenizer_config.json, config.json (+ optional index_to_name.json, vocab.txt).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CORPUS } from './corpus.js';
import { PRESETS, distilBertParameterCount, generateDistilBert, type DistilBertOptions, type DistilBertPreset } from './distilbert.js';
import { buildTokenizerFiles, buildVocab } from './tokenizer.js';

/** The `config.json` of a DistilBertForSequenceClassification checkpoint. */
export interface DistilBertConfigJson {
  architectures: string[];
  model_type: 'distilbert';
  activation: 'gelu';
  dim: number;
  hidden_dim: number;
  n_heads: number;
  n_layers: number;
  vocab_size: number;
  max_position_embeddings: number;
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  [key: string]: unknown;
}

export function buildConfigJson(options: DistilBertOptions, labels: readonly string[]): DistilBertConfigJson {
  if (labels.length !== options.numLabels) throw new Error(`${labels.length} labels for numLabels ${options.numLabels}`);
  return {
    _name_or_path: 'ortserve-modelgen/distilbert-random',
    activation: 'gelu',
    architectures: ['DistilBertForSequenceClassification'],
    attention_dropout: 0.1,
    dim: options.hidden,
    dropout: 0.1,
    hidden_dim: options.ffn,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    initializer_range: options.initializerRange ?? 0.02,
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    max_position_embeddings: options.maxPosition,
    model_type: 'distilbert',
    n_heads: options.heads,
    n_layers: options.layers,
    pad_token_id: 0,
    problem_type: 'single_label_classification',
    qa_dropout: 0.1,
    seq_classif_dropout: 0.2,
    sinusoidal_pos_embds: false,
    tie_weights_: true,
    torch_dtype: 'float32',
    vocab_size: options.vocabSize,
    ...(options.tokenTypeIds ? { type_vocab_size: 2 } : {}),
  };
}

export interface ModelDirOptions extends Partial<DistilBertPreset> {
  /** Base sizes; explicit dimensions override it. Default `tiny`. */
  preset?: keyof typeof PRESETS;
  labels: readonly string[];
  /** Texts the vocabulary is built from (default: a built-in English/Spanish corpus). */
  corpus?: Iterable<string>;
  doLowerCase?: boolean;
  /** tokenizer_config.json `model_max_length` (default: maxPosition). */
  modelMaxLength?: number;
  withIndexToName?: boolean;
  withVocabTxt?: boolean;
  /** Name of the ONNX file (default model.onnx). */
  modelFileName?: string;
}

export interface ModelDirSummary {
  dir: string;
  /** File name → size in bytes, in the order written. */
  files: Record<string, number>;
  parameters: number;
  options: DistilBertOptions;
}

/** Everything a model directory holds, in memory (no I/O). */
export function buildModelFiles(opts: ModelDirOptions): { files: Record<string, Uint8Array | string>; parameters: number; options: DistilBertOptions } {
  const { preset, labels, corpus, doLowerCase, modelMaxLength, withIndexToName, withVocabTxt, modelFileName, ...dims } = opts;
  const defined = Object.fromEntries(Object.entries(dims).filter(([, v]) => v !== undefined)) as Partial<DistilBertPreset>;
  const options: DistilBertOptions = { ...PRESETS[preset ?? 'tiny'], ...defined, numLabels: labels.length };
  const vocab = buildVocab(corpus ?? DEFAULT_CORPUS, options.vocabSize);
  const { tokenizerJson, tokenizerConfig } = buildTokenizerFiles(vocab, {
    doLowerCase: doLowerCase ?? true,
    modelMaxLength: modelMaxLength ?? options.maxPosition,
  });
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  const files: Record<string, Uint8Array | string> = {
    [modelFileName ?? 'model.onnx']: generateDistilBert(options),
    'tokenizer.json': json(tokenizerJson),
    'tokenizer_config.json': json(tokenizerConfig),
    'config.json': json(buildConfigJson(options, labels)),
  };
  if (withIndexToName) files['index_to_name.json'] = json(Object.fromEntries(labels.map((l, i) => [String(i), l])));
  if (withVocabTxt) files['vocab.txt'] = `${vocab.join('\n')}\n`;
  return { files, parameters: distilBertParameterCount(options), options };
}

/** Writes the model directory (creating it) and returns what was written. */
export async function writeModelDir(dir: string, opts: ModelDirOptions): Promise<ModelDirSummary> {
  const { files, parameters, options } = buildModelFiles(opts);
  await mkdir(dir, { recursive: true });
  const sizes: Record<string, number> = {};
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), content);
    sizes[name] = typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
  }
  return { dir, files: sizes, parameters, options };
}
