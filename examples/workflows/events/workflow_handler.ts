/**
 * The function nodes of the events workflow (workflow.yaml). Each is called as a handler function is:
 * once with `data === null` when its worker starts, then with a batch of rows. A node with one parent
 * reads the parent's answer from `row.body`; a node with several parents reads one key per parent
 * (`row.taxonomy`, `row.pre_processing` ...). Answers from other nodes arrive as bytes.
 *
 * - pre_processing: the request as the taxonomy model reads it (the text lines, or `{"text", "top_k"}`).
 * - route_music: the texts the taxonomy model called music, for the sub-taxonomy model. The DAG has no
 *   conditional edges, so when no text is music the first text goes instead, and merge ignores its answer.
 * - merge: `{"taxonomy", "subtaxonomy"}` per text, as events.mar answers (a list for several lines, the
 *   ranked labels with scores for a JSON request).
 */
import { PredictionException, type RequestRow, type ResponseValue } from 'ortserve';
import { parseTextRequest, type TextRequest } from 'ortserve/text';

const MUSIC = 'music';

interface Ranked {
  label: string;
  score: number;
}

type ModelAnswer = string | string[] | Ranked[];

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return JSON.stringify(value);
}

/** A text model's answer: a label (plain text), a list of labels, or ranked labels with scores. */
function modelAnswer(value: unknown): ModelAnswer {
  const t = text(value);
  try {
    const parsed: unknown = JSON.parse(t);
    if (Array.isArray(parsed)) return parsed as string[] | Ranked[];
  } catch {
    // A label name is not JSON.
  }
  return t;
}

/** The best label of each text an answer covers. */
function bestLabels(answer: ModelAnswer): string[] {
  if (typeof answer === 'string') return [answer];
  if (answer.length > 0 && typeof answer[0] === 'object') return [(answer[0] as Ranked).label];
  return answer as string[];
}

function request(row: RequestRow): TextRequest {
  const r = parseTextRequest(row);
  if (r.kind === 'invalid') throw new PredictionException(r.message, 400);
  return r;
}

/** What the taxonomy model is asked: the same request, normalised. */
function asModelInput(r: TextRequest): string {
  return r.kind === 'json' ? JSON.stringify(r.topK === null ? { text: r.texts[0] } : { text: r.texts[0], top_k: r.topK }) : r.texts.join('\n');
}

export function pre_processing(data: RequestRow[] | null): ResponseValue[] | undefined {
  if (data === null) return undefined;
  return data.map((row) => asModelInput(request(row)));
}

export function route_music(data: RequestRow[] | null): ResponseValue[] | undefined {
  if (data === null) return undefined;
  return data.map((row) => {
    const r = request({ body: row['pre_processing'] });
    const labels = bestLabels(modelAnswer(row['taxonomy']));
    const music = r.texts.filter((_, i) => labels[i] === MUSIC);
    if (r.kind === 'json') return asModelInput({ ...r, texts: [music[0] ?? r.texts[0]!] });
    // One text goes as JSON, so that a line that looks like a JSON request is still classified as text.
    if (music.length <= 1) return JSON.stringify({ text: music[0] ?? r.texts[0]! });
    return music.join('\n');
  });
}

export function merge(data: RequestRow[] | null): ResponseValue[] | undefined {
  if (data === null) return undefined;
  return data.map((row) => {
    const taxonomy = modelAnswer(row['taxonomy']);
    const sub = modelAnswer(row['music_subtaxonomy']);
    if (typeof taxonomy === 'string') return { taxonomy, subtaxonomy: taxonomy === MUSIC ? bestLabels(sub)[0]! : null };
    if (taxonomy.length > 0 && typeof taxonomy[0] === 'object') {
      const ranked = taxonomy as Ranked[];
      return { taxonomy: ranked, subtaxonomy: ranked[0]!.label === MUSIC ? sub : null };
    }
    const subLabels = bestLabels(sub);
    let k = 0;
    return (taxonomy as string[]).map((label) => ({ taxonomy: label, subtaxonomy: label === MUSIC ? subLabels[k++]! : null }));
  });
}
