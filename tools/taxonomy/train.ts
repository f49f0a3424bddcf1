/**
 * Trains the two taxonomy models from the split files: the taxonomy of every listing (8 labels) and
 * the sub-taxonomy of music listings. Texts go through the same preparation and tokenizer the
 * server applies (event-cleaning.ts, then the model's tokenizer.json through @huggingface/transformers),
 * so what the model learns from is exactly what it will be served.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { prepareText, type TextPreparation } from '../../src/handlers/text/event-cleaning.js';
import { loadTextTokenizer, type TextTokenizer } from '../../src/handlers/text/tokenizer.js';
import { buildTokenizerFiles, buildVocab } from '../modelgen/index.js';
import { DEFAULT_TRAIN_OPTIONS, predict, trainBagModel, type BagModel, type Example, type TrainOptions } from './bag-model.js';
import { eventText, type Listing, type SplitName } from './dataset.js';
import { bagModelToOnnx } from './onnx-export.js';

/** The seed handler's preparation, switched on in the taxonomy archives. */
export const PREPARATION: TextPreparation = { cleanText: true, keepSentences: 2 };

export interface ModelSpec {
  name: string;
  /** The label of a listing, or null when the model does not cover it. */
  labelOf: (l: Listing) => string | null;
  maxLength: number;
  /** WordPiece vocabulary size, built from the training texts the model covers. */
  vocabSize: number;
  train: TrainOptions;
}

// Vocabulary size and width chosen on the validation split. More whole words help the taxonomy (12,000:
// 69 % validation accuracy against 63 % with 4,000); the sub-taxonomy, trained on 168 music listings
// only, does best with a small vocabulary.
export const TAXONOMY: ModelSpec = {
  name: 'taxonomy',
  labelOf: (l) => l.taxonomy,
  maxLength: 210,
  vocabSize: 12000,
  train: { ...DEFAULT_TRAIN_OPTIONS, dim: 24 },
};
export const MUSIC_SUBTAXONOMY: ModelSpec = {
  name: 'music_subtaxonomy',
  labelOf: (l) => (l.taxonomy === 'music' ? l.subtaxonomy : null),
  maxLength: 150,
  vocabSize: 4000,
  train: DEFAULT_TRAIN_OPTIONS,
};

export interface TrainedModel {
  spec: ModelSpec;
  labels: string[];
  model: BagModel;
  bestEpoch: number;
  /** Per split: the listings the model covers, their true and predicted labels. */
  predictions: Record<SplitName, { ids: string[]; actual: string[]; predicted: string[] }>;
}

/** tokenizer.json / tokenizer_config.json, with a vocabulary built from the prepared training texts only. */
export function writeTokenizer(dir: string, train: Listing[], vocabSize: number): TextTokenizer {
  const vocab = buildVocab(
    train.map((l) => prepareText(eventText(l), PREPARATION)),
    vocabSize,
  );
  const { tokenizerJson, tokenizerConfig } = buildTokenizerFiles(vocab, { doLowerCase: true, modelMaxLength: 512 });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'tokenizer.json'), `${JSON.stringify(tokenizerJson)}\n`);
  writeFileSync(path.join(dir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  return loadTextTokenizer(dir);
}

function accuracy(predicted: number[], actual: number[]): number {
  return predicted.filter((p, i) => p === actual[i]).length / Math.max(1, actual.length);
}

/** Trains one model; its tokenizer files are written to `tokenizerDir` first. */
export function trainModel(spec: ModelSpec, tokenizerDir: string, splits: Record<SplitName, Listing[]>): TrainedModel {
  const covered = (name: SplitName): Listing[] => splits[name].filter((l) => spec.labelOf(l) !== null);
  const tokenizer = writeTokenizer(tokenizerDir, covered('train'), spec.vocabSize);
  const labels = [...new Set(covered('train').map((l) => spec.labelOf(l)!))].sort();
  const examples = (name: SplitName): Example[] =>
    covered(name).map((l) => ({
      ids: tokenizer.encode(prepareText(eventText(l), PREPARATION), spec.maxLength),
      label: labels.indexOf(spec.labelOf(l)!),
    }));
  const data = { train: examples('train'), validation: examples('validation'), test: examples('test') };
  const { model, bestEpoch } = trainBagModel(spec.vocabSize, labels.length, data.train, data.validation, accuracy, spec.train);
  const predictions = Object.fromEntries(
    (['train', 'validation', 'test'] as const).map((name) => [
      name,
      {
        ids: covered(name).map((l) => l.id),
        actual: data[name].map((ex) => labels[ex.label]!),
        predicted: data[name].map((ex) => labels[predict(model, ex.ids)]!),
      },
    ]),
  ) as TrainedModel['predictions'];
  return { spec, labels, model, bestEpoch, predictions };
}

/** The model directory the archives are made from: ONNX, tokenizer, labels, handler settings. */
export function writeModelDir(dir: string, tokenizerDir: string, t: TrainedModel): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), bagModelToOnnx(t.model, t.spec.name));
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  const id2label = Object.fromEntries(t.labels.map((l, i) => [String(i), l]));
  writeFileSync(path.join(dir, 'index_to_name.json'), json(id2label));
  writeFileSync(
    path.join(dir, 'config.json'),
    json({
      architectures: ['EmbeddingBagForSequenceClassification'],
      model_type: 'embedding-bag',
      dim: t.model.dim,
      vocab_size: t.model.vocabSize,
      id2label,
      label2id: Object.fromEntries(t.labels.map((l, i) => [l, i])),
    }),
  );
  writeFileSync(
    path.join(dir, 'model-config.yaml'),
    [
      '# The seed handler options: clean the text, keep the first 2 and last 2 sentences, cap the tokens.',
      'batchSize: 8',
      'maxBatchDelay: 10',
      'handler:',
      `  max_length: ${t.spec.maxLength}`,
      `  clean_text: ${PREPARATION.cleanText}`,
      `  keep_sentences: ${PREPARATION.keepSentences}`,
      '',
    ].join('\n'),
  );
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(tokenizerDir, f), path.join(dir, f));
}
