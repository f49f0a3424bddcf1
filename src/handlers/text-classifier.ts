/**
 * The built-in `text_classifier` handler, for Hugging Face-style ONNX exports of DistilBERT/BERT
 * sequence classifiers (optimum or torch.onnx.export: `input_ids`, `attention_mask`[, `token_type_ids`]
 * → `logits`). It answers as TorchServe's Hugging Face handler does: a plain-text body gets the label
 * name as text; a body of several lines gets the list of labels, one per line; a JSON body
 * `{"text": ..., "top_k": k}` gets `[{"label", "score"}, ...]`, best first.
 *
 * Unlike TorchServe's Python `text_classifier`, it batches: every text of every request in the batch is
 * tokenized, padded to the longest sequence of the batch (not to max_length) and run in one
 * `session.run`.
 */
import type ort from 'onnxruntime-node';
import { BaseHandler, PredictionException, type Context, type RequestRow, type ResponseValue } from '../handler-api/index.js';
import { buildFeeds, parseTextRequest, softmax, type IdType, type InvalidRequest, type TextRequest } from './text/batch.js';
import { readModelFacts, readTextSettings, resolveMaxLength } from './text/settings.js';
import { loadTextTokenizer, type TextTokenizer } from './text/tokenizer.js';

/** The batch after tokenization: the feeds of the one session run and where each request's rows are. */
export interface PreparedBatch {
  feeds: Record<string, ort.Tensor>;
  requests: Array<TextRequest | InvalidRequest>;
  /** For each request, the index of its first sequence in the batch tensors. */
  firstRow: number[];
}

/** Softmax scores per sequence, in batch order, with the requests they answer. */
export interface ScoredBatch {
  scores: number[][];
  requests: Array<TextRequest | InvalidRequest>;
  firstRow: number[];
}

const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);

export default class TextClassifierHandler extends BaseHandler<PreparedBatch, ScoredBatch> {
  private tokenizer!: TextTokenizer;
  private maxLength = 512;
  private inputs = new Map<string, IdType>();
  private outputName = 'logits';
  private labels: Record<string, string> | null = null;

  override async initialize(context: Context): Promise<void> {
    await super.initialize(context);
    const session = this.requireSession();
    for (const meta of session.inputMetadata) {
      if (!KNOWN_INPUTS.has(meta.name)) {
        throw new Error(`text_classifier cannot feed the model input "${meta.name}" (it feeds input_ids, attention_mask, token_type_ids)`);
      }
      // Exports normally declare int64; a few declare int32, which is honoured rather than failing.
      this.inputs.set(meta.name, meta.isTensor && meta.type === 'int32' ? 'int32' : 'int64');
    }
    if (!this.inputs.has('input_ids')) throw new Error('text_classifier needs a model with an "input_ids" input');
    this.outputName = session.outputNames.includes('logits') ? 'logits' : (session.outputNames[0] ?? 'logits');

    const settings = readTextSettings(this.modelDir, context.modelYamlConfig);
    const facts = readModelFacts(this.modelDir);
    this.tokenizer = loadTextTokenizer(this.modelDir, { doLowerCase: settings.doLowerCase });
    this.maxLength = resolveMaxLength(settings.maxLength, this.tokenizer.modelMaxLength, facts.maxPosition);
    // index_to_name.json (loaded by BaseHandler) wins over config.json's id2label.
    this.labels = this.mapping ?? facts.id2label;
  }

  preprocess(data: RequestRow[]): PreparedBatch {
    const requests = data.map(parseTextRequest);
    const valid = requests.filter((r): r is TextRequest => r.kind !== 'invalid');
    if (valid.length === 0) {
      // Nothing to classify: fail the batch with the (first) reason, as TorchServe's PredictionException does.
      const first = requests.find((r): r is InvalidRequest => r.kind === 'invalid');
      throw new PredictionException(first?.message ?? 'No text to classify', 400);
    }
    const sequences: number[][] = [];
    const firstRow: number[] = [];
    for (const request of requests) {
      firstRow.push(sequences.length);
      if (request.kind === 'invalid') continue;
      for (const text of request.texts) sequences.push(this.tokenizer.encode(text, this.maxLength));
    }
    return { feeds: buildFeeds(sequences, this.inputs, this.tokenizer.padTokenId), requests, firstRow };
  }

  override async inference(input: PreparedBatch): Promise<ScoredBatch> {
    const session = this.requireSession();
    const output = (await session.run(input.feeds))[this.outputName];
    if (!output || output.dims.length !== 2) {
      throw new Error(`The model output "${this.outputName}" is not a [batch, num_labels] tensor`);
    }
    const [rows, classes] = output.dims as [number, number];
    const values = output.data as Float32Array;
    const scores: number[][] = [];
    for (let r = 0; r < rows; r++) scores.push(softmax(values.subarray(r * classes, (r + 1) * classes)));
    return { scores, requests: input.requests, firstRow: input.firstRow };
  }

  postprocess(output: ScoredBatch): ResponseValue[] {
    return output.requests.map((request, idx) => {
      if (request.kind === 'invalid') {
        // Only some requests of the batch are bad: answer those with 400 and keep the others.
        this.context.setResponseStatus(400, '', idx);
        return { code: 400, type: 'InternalServerException', message: request.message };
      }
      const first = output.firstRow[idx] as number;
      const rows = output.scores.slice(first, first + request.texts.length);
      if (request.kind === 'plain') return this.label(argmax(rows[0] as number[]));
      if (request.kind === 'lines') return rows.map((s) => this.label(argmax(s)));
      const ranked = (rows[0] as number[])
        .map((score, i) => ({ label: this.label(i), score }))
        .sort((a, b) => b.score - a.score);
      return request.topK === null ? ranked : ranked.slice(0, request.topK);
    });
  }

  override describeHandle(): ResponseValue {
    return {
      handler: 'text_classifier',
      inputs: [...this.inputs.keys()],
      max_length: this.maxLength,
      labels: this.labels ?? {},
    };
  }

  private label(index: number): string {
    return this.labels?.[String(index)] ?? String(index);
  }

  private requireSession(): ort.InferenceSession {
    if (!this.session) throw new Error('text_classifier needs an ONNX model file (serializedFile in the manifest)');
    return this.session;
  }
}

function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}
