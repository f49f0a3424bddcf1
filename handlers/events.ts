/**
 * The events handler (events.mar): the taxonomy of each event and, when the taxonomy is music, its
 * music sub-taxonomy, from the two models of the original classifier. The archive holds each model
 * in a folder of its own (`taxonomy/`, `music_subtaxonomy/`: model.onnx, tokenizer, labels); each
 * model's settings come from model-config.yaml, `handler: {taxonomy: {...}, music_subtaxonomy: {...}}`.
 *
 * Answers, per request:
 * - a plain body of one line: `{"taxonomy": "music", "subtaxonomy": "jazz_blues"}` (subtaxonomy null
 *   for other taxonomies);
 * - a body of several lines: a list of those, one per line;
 * - a JSON body `{"text": ..., "top_k": k}`: `{"taxonomy": [{label, score}, ...], "subtaxonomy": [...] | null}`.
 *
 * Batched: all texts of all requests in one run of the taxonomy model, then the music texts in one
 * run of the sub-taxonomy model.
 */
import { BaseHandler, sessionOptions, type Context, type RequestRow, type ResponseValue } from 'ortserve';
import { argmax, prepareBatch, TextModel, type PreparedBatch } from 'ortserve/text';

const MUSIC = 'music';

interface Scored {
  batch: PreparedBatch;
  taxonomy: number[][];
  /** Sub-taxonomy scores by sequence index, for the music sequences only. */
  subtaxonomy: Map<number, number[]>;
}

function section(yaml: Record<string, unknown>, name: string): Record<string, unknown> {
  const handler = yaml['handler'];
  const value = typeof handler === 'object' && handler !== null ? (handler as Record<string, unknown>)[name] : undefined;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

export default class EventsHandler extends BaseHandler<PreparedBatch, Scored> {
  private taxonomy!: TextModel;
  private subtaxonomy!: TextModel;

  override async initialize(context: Context): Promise<void> {
    await super.initialize(context);
    const options = sessionOptions(context);
    const load = (name: string): Promise<TextModel> =>
      TextModel.load(`${this.modelDir}/${name}`, 'model.onnx', options, section(context.modelYamlConfig, name));
    [this.taxonomy, this.subtaxonomy] = await Promise.all([load('taxonomy'), load('music_subtaxonomy')]);
  }

  preprocess(data: RequestRow[]): PreparedBatch {
    return prepareBatch(data, (text) => this.taxonomy.encode(text));
  }

  override async inference(batch: PreparedBatch): Promise<Scored> {
    const taxonomy = await this.taxonomy.scores(batch.sequences);
    const observations = this.context.observations;
    this.taxonomy.observeInputs(observations, batch.sequences);
    this.taxonomy.observeLabels(observations, taxonomy, 'taxonomy');
    const texts = batch.requests.flatMap((r) => (r.kind === 'invalid' ? [] : r.texts));
    const music = taxonomy.flatMap((scores, i) => (this.taxonomy.label(argmax(scores)) === MUSIC ? [i] : []));
    const subtaxonomy = new Map<number, number[]>();
    if (music.length > 0) {
      const scores = await this.subtaxonomy.scores(music.map((i) => this.subtaxonomy.encode(texts[i]!)));
      music.forEach((seq, k) => subtaxonomy.set(seq, scores[k]!));
      this.subtaxonomy.observeLabels(observations, scores, 'subtaxonomy');
    }
    return { batch, taxonomy, subtaxonomy };
  }

  postprocess(out: Scored): ResponseValue[] {
    return out.batch.requests.map((request, idx) => {
      if (request.kind === 'invalid') {
        this.context.setResponseStatus(400, '', idx);
        return { code: 400, type: 'InternalServerException', message: request.message };
      }
      const first = out.batch.firstRow[idx]!;
      const label = (seq: number): { taxonomy: string; subtaxonomy: string | null } => {
        const sub = out.subtaxonomy.get(seq);
        return { taxonomy: this.taxonomy.label(argmax(out.taxonomy[seq]!)), subtaxonomy: sub ? this.subtaxonomy.label(argmax(sub)) : null };
      };
      if (request.kind === 'plain') return label(first);
      if (request.kind === 'lines') return request.texts.map((_, k) => label(first + k));
      const k = request.topK ?? Infinity;
      const sub = out.subtaxonomy.get(first);
      return {
        taxonomy: this.taxonomy.ranked(out.taxonomy[first]!).slice(0, k),
        subtaxonomy: sub ? this.subtaxonomy.ranked(sub).slice(0, k) : null,
      };
    });
  }

  override describeHandle(): ResponseValue {
    return {
      handler: 'events',
      models: {
        taxonomy: { max_length: this.taxonomy.maxLength, labels: this.taxonomy.labels ?? {} },
        music_subtaxonomy: { max_length: this.subtaxonomy.maxLength, labels: this.subtaxonomy.labels ?? {} },
      },
    };
  }
}
