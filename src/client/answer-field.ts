/**
 * Where the labels are in a model's answer. The built-in text_classifier answers a label list,
 * `[{"label", "score"}, …]`; a handler with several outputs answers an object of them, as the bundled
 * `events` model does (`{"taxonomy": [{label, score}, …], "subtaxonomy": [...] | null}`). `--field` names
 * the list to use inside such an object, as a dotted path (`taxonomy`, `outputs.labels`).
 */
import type { Prediction } from './inference-client.js';

/** The answer is not a label list, and `--field` does not lead to one; the message says what was found. */
export class AnswerShapeError extends Error {}

/** `a.b.c` → `['a', 'b', 'c']`; null when the path has an empty part. */
export function parseFieldPath(path: string): string[] | null {
  const parts = path.split('.');
  return parts.every((p) => p.trim() !== '') ? parts.map((p) => p.trim()) : null;
}

const isLabelList = (v: unknown): v is Prediction[] =>
  Array.isArray(v) && v.length > 0 && v.every((p: { label?: unknown; score?: unknown }) => typeof p?.label === 'string' && typeof p.score === 'number');

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const preview = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

/**
 * The label list of an answer, best first; an empty list when `field` leads to JSON null (the model
 * gave no label for this text, as `events` gives no sub-taxonomy to a text that is not music).
 * A label list answered directly is used as it is, with or without `field`, so that one `--field`
 * serves a comparison of a plain classifier with a model that answers objects.
 */
export function labelsFromAnswer(answer: unknown, field: readonly string[] | null): Prediction[] {
  if (isLabelList(answer)) return answer.map((p) => ({ label: p.label, score: p.score }));
  if (isPlainObject(answer) && field === null) {
    throw new AnswerShapeError(`the answer is an object with the fields ${Object.keys(answer).join(', ')}: name the one that holds the labels with --field (for example --field ${Object.keys(answer)[0] ?? 'NAME'})`);
  }
  if (field === null) throw new AnswerShapeError(`expected [{"label", "score"}, …] (a text_classifier model), got: ${preview(answer)}`);
  let value: unknown = answer;
  for (const [i, key] of field.entries()) {
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) {
      const where = field.slice(0, i).join('.') || 'the answer';
      const has = isPlainObject(value) ? `its fields are ${Object.keys(value).join(', ') || 'none'}` : `it is ${preview(value)}`;
      throw new AnswerShapeError(`--field ${field.join('.')}: ${where} has no field "${key}" (${has})`);
    }
    value = value[key];
  }
  if (value === null) return [];
  if (isLabelList(value)) return value.map((p) => ({ label: p.label, score: p.score }));
  throw new AnswerShapeError(`--field ${field.join('.')}: expected [{"label", "score"}, …] or null there, got: ${preview(value)}`);
}
