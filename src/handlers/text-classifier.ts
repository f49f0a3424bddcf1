/**
 * The built-in `text_classifier` handler, for Hugging Face-style ONNX exports of DistilBERT/BERT
 * sequence classifiers (optimum or torch.onnx.export: `input_ids`, `attention_mask`[, `token_type_ids`]
 * → `logits`). It answers as TorchServe's Hugging Face handler does: a plain-text body gets the label
 * name as text; a body of several lines gets the list of labels, one per line; a JSON body
 * `{"text": ..., "top_k": k}` gets `[{"label", "score"}, ...]`, best first.
 *
 * Unlike TorchServe's Python `text_classifier`, it batches: every text of every request in the batch is
 * tokenized, padded to the longest sequence of the batch (not to max_length) and run in one
 * `session.run`. model-config.yaml's `handler:` section sets `max_length`, `do_lower_case` and the
 * taxonomy handler's text preparation (`clean_text`, `keep_sentences`; text/event-cleaning.ts).
 */
import { BaseHandler, type Context, type RequestRow, type ResponseValue } from '../handler-api/index.js';
import { prepareBatch, type InvalidRequest, type PreparedBatch, type TextRequest } from './text/batch.js';
import { argmax, TextModel } from './text/text-model.js';

/** Softmax scores per sequence, in batch order, with the requests they answer. */
export interface ScoredBatch {
  scores: number[][];
  requests: Array<TextRequest | InvalidRequest>;
  firstRow: number[];
}

export default class TextClassifierHandler extends BaseHandler<PreparedBatch, ScoredBatch> {
  private model!: TextModel;

  override async initialize(context: Context): Promise<void> {
    await super.initialize(context);
    if (!this.session) throw new Error('text_classifier needs an ONNX model file (serializedFile in the manifest)');
    const yaml = context.modelYamlConfig['handler'];
    this.model = new TextModel(this.session, this.modelDir, typeof yaml === 'object' && yaml !== null ? (yaml as Record<string, unknown>) : {});
  }

  preprocess(data: RequestRow[]): PreparedBatch {
    return prepareBatch(data, (text) => this.model.encode(text));
  }

  override async inference(input: PreparedBatch): Promise<ScoredBatch> {
    const scores = await this.model.scores(input.sequences);
    this.model.observeInputs(this.context.observations, input.sequences);
    this.model.observeLabels(this.context.observations, scores);
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
      if (request.kind === 'plain') return this.model.label(argmax(rows[0] as number[]));
      if (request.kind === 'lines') return rows.map((s) => this.model.label(argmax(s)));
      const ranked = this.model.ranked(rows[0] as number[]);
      return request.topK === null ? ranked : ranked.slice(0, request.topK);
    });
  }

  override describeHandle(): ResponseValue {
    return {
      handler: 'text_classifier',
      inputs: this.model.inputNames,
      max_length: this.model.maxLength,
      transliterate_accents: this.model.preparation.transliterate ?? false,
      clean_text: this.model.preparation.cleanText,
      keep_sentences: this.model.preparation.keepSentences,
      labels: this.model.labels ?? {},
    };
  }
}
