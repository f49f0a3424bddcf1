/**
 * One Hugging Face-style sequence classifier (an optimum / torch.onnx.export DistilBERT or BERT export:
 * `input_ids`, `attention_mask`[, `token_type_ids`] → `logits`) with its tokenizer and settings. The
 * built-in text_classifier serves one; a custom handler can load several (the events handler runs the
 * taxonomy and the music sub-taxonomy models): `import { TextModel } from 'ortserve/text'`.
 */
import path from 'node:path';
import ort from 'onnxruntime-node';
import { loadIndexToName } from '../../handler-api/base-handler.js';
import type { BatchObservations } from '../../handler-api/observations.js';
import { buildFeeds, softmax, type IdType } from './batch.js';
import { NO_PREPARATION, prepareText, type TextPreparation } from './event-cleaning.js';
import { readModelFacts, readTextSettings, resolveMaxLength } from './settings.js';
import { loadTextTokenizer, type TextTokenizer } from './tokenizer.js';

const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);

export class TextModel {
  readonly maxLength: number;
  readonly preparation: TextPreparation;
  /** index → label: index_to_name.json, else config.json's id2label, else null (labels are indices). */
  readonly labels: Record<string, string> | null;
  private readonly inputs = new Map<string, IdType>();
  private readonly outputName: string;
  private readonly tokenizer: TextTokenizer;

  /**
   * `modelDir` holds tokenizer.json (+ tokenizer_config.json, config.json, index_to_name.json,
   * setup_config.json); `handlerSettings` is model-config.yaml's `handler:` section.
   */
  constructor(
    readonly session: ort.InferenceSession,
    modelDir: string,
    handlerSettings: Record<string, unknown> = {},
  ) {
    for (const meta of session.inputMetadata) {
      if (!KNOWN_INPUTS.has(meta.name)) {
        throw new Error(`text_classifier cannot feed the model input "${meta.name}" (it feeds input_ids, attention_mask, token_type_ids)`);
      }
      // Exports normally declare int64; a few declare int32, which is honoured rather than failing.
      this.inputs.set(meta.name, meta.isTensor && meta.type === 'int32' ? 'int32' : 'int64');
    }
    if (!this.inputs.has('input_ids')) throw new Error('text_classifier needs a model with an "input_ids" input');
    this.outputName = session.outputNames.includes('logits') ? 'logits' : (session.outputNames[0] ?? 'logits');
    const settings = readTextSettings(modelDir, { handler: handlerSettings });
    const facts = readModelFacts(modelDir);
    this.tokenizer = loadTextTokenizer(modelDir, { doLowerCase: settings.doLowerCase });
    this.maxLength = resolveMaxLength(settings.maxLength, this.tokenizer.modelMaxLength, facts.maxPosition);
    this.preparation = { transliterate: settings.transliterate ?? false, cleanText: settings.cleanText ?? false, keepSentences: settings.keepSentences ?? null };
    this.labels = loadIndexToName(modelDir) ?? facts.id2label;
  }

  /** Opens `modelFile` (relative to `modelDir`) with the given session options. */
  static async load(modelDir: string, modelFile: string, options: ort.InferenceSession.SessionOptions, handlerSettings: Record<string, unknown> = {}): Promise<TextModel> {
    const session = await ort.InferenceSession.create(path.join(modelDir, modelFile), options);
    return new TextModel(session, modelDir, handlerSettings);
  }

  get inputNames(): string[] {
    return [...this.inputs.keys()];
  }

  /** Token ids of one text after the model's text preparation, cut at `maxLength`. */
  encode(text: string): number[] {
    return this.tokenizer.encode(prepareText(text, this.preparation), this.maxLength);
  }

  /** Softmax scores of every sequence, in one session run, padded to the longest sequence. */
  async scores(sequences: number[][]): Promise<number[][]> {
    const output = (await this.session.run(buildFeeds(sequences, this.inputs, this.tokenizer.padTokenId)))[this.outputName];
    if (!output || output.dims.length !== 2) {
      throw new Error(`The model output "${this.outputName}" is not a [batch, num_labels] tensor`);
    }
    const [rows, classes] = output.dims as [number, number];
    const values = output.data as Float32Array;
    const out: number[][] = [];
    for (let r = 0; r < rows; r++) out.push(softmax(values.subarray(r * classes, (r + 1) * classes)));
    return out;
  }

  /**
   * Reports one session run's inputs to the server's drift metrics (`context.observations`): tokens per
   * sequence, how many are the unknown token, and the padded size the run had (longest × count).
   */
  observeInputs(observations: BatchObservations, sequences: readonly number[][]): void {
    const unk = this.tokenizer.unkTokenId;
    let unknown = 0;
    let longest = 0;
    for (const ids of sequences) {
      longest = Math.max(longest, ids.length);
      if (unk !== null) for (const id of ids) if (id === unk) unknown++;
    }
    observations.inputs(sequences.map((ids) => ids.length), unknown, longest * sequences.length);
  }

  /** Reports the predicted label (argmax) of every scored sequence, under `output`. */
  observeLabels(observations: BatchObservations, scores: readonly number[][], output = 'label'): void {
    for (const row of scores) observations.label(this.label(argmax(row)), output);
  }

  label(index: number): string {
    return this.labels?.[String(index)] ?? String(index);
  }

  /** Labels with their scores, best first. */
  ranked(scores: number[]): Array<{ label: string; score: number }> {
    return scores.map((score, i) => ({ label: this.label(i), score })).sort((a, b) => b.score - a.score);
  }
}

export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

export { NO_PREPARATION, type TextPreparation };
