/**
 * Request decoding and tensor building for the text classifier: what each request asks for, and the
 * padded input tensors of a whole batch.
 */
import ort from 'onnxruntime-node';
import { PredictionException, type RequestRow } from '../../handler-api/index.js';

/** What one request asks for. */
export type TextRequest =
  /** A plain body with one non-empty line: answered with the label name. */
  | { kind: 'plain'; texts: [string] }
  /** A plain body with several non-empty lines: answered with one label per line. */
  | { kind: 'lines'; texts: string[] }
  /** `{"text": ..., "top_k"?: k}`: answered with the k best labels and their scores. */
  | { kind: 'json'; texts: [string]; topK: number | null };

/** A request that cannot be classified, with the message for the client. */
export interface InvalidRequest {
  kind: 'invalid';
  message: string;
}

const utf8 = new TextDecoder('utf-8');

function fromJsonObject(body: Record<string, unknown>): TextRequest | InvalidRequest {
  const text = body['text'];
  if (typeof text !== 'string') return { kind: 'invalid', message: 'The JSON body needs a "text" string field' };
  if (text.trim() === '') return { kind: 'invalid', message: 'The text to classify is empty' };
  const rawK = body['top_k'];
  if (rawK === undefined || rawK === null) return { kind: 'json', texts: [text], topK: null };
  const k = typeof rawK === 'string' ? Number(rawK) : rawK;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    return { kind: 'invalid', message: `"top_k" must be a positive integer, got ${JSON.stringify(rawK)}` };
  }
  return { kind: 'json', texts: [text], topK: k };
}

function fromText(text: string): TextRequest | InvalidRequest {
  // A text body that is a JSON object with "text" (e.g. sent without a JSON content type) is honoured
  // as the JSON form; anything else is plain text.
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'text' in parsed) {
        return fromJsonObject(parsed as Record<string, unknown>);
      }
    } catch {
      // Not JSON: classify it as text.
    }
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) return { kind: 'invalid', message: 'The text to classify is empty' };
  if (lines.length === 1) return { kind: 'plain', texts: [lines[0] as string] };
  return { kind: 'lines', texts: lines };
}

/** Decodes one request row (`data` or `body`, as TorchServe's handlers read it). */
export function parseTextRequest(row: RequestRow): TextRequest | InvalidRequest {
  // Python's `row.get("data") or row.get("body")`: an empty `data` field falls through to `body`.
  const data = row['data'];
  const emptyData = data === undefined || data === null || data === '' || (data instanceof Uint8Array && data.byteLength === 0);
  const value = emptyData ? row['body'] : data;
  if (typeof value === 'string') return fromText(value);
  if (value instanceof Uint8Array) return fromText(utf8.decode(value));
  if (value instanceof ArrayBuffer) return fromText(utf8.decode(new Uint8Array(value)));
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return fromJsonObject(value as Record<string, unknown>);
  }
  // A BYTES tensor of several texts (the kservev2 envelope hands over its strings): one label per text.
  if (Array.isArray(value) && value.length > 0 && value.every((t) => typeof t === 'string' && t.trim() !== '')) {
    return { kind: 'lines', texts: value as string[] };
  }
  if (value === undefined || value === null) return { kind: 'invalid', message: 'The request has no "data" or "body" to classify' };
  return { kind: 'invalid', message: 'Expected text, or a JSON object {"text": ..., "top_k": k}' };
}

/** The batch after tokenization: one token sequence per text, and where each request's rows are. */
export interface PreparedBatch {
  sequences: number[][];
  requests: Array<TextRequest | InvalidRequest>;
  /** For each request, the index of its first sequence in the batch. */
  firstRow: number[];
}

/** Parses a batch of requests and tokenizes every valid text; a batch with no valid request fails. */
export function prepareBatch(data: RequestRow[], encode: (text: string) => number[]): PreparedBatch {
  const requests = data.map(parseTextRequest);
  if (!requests.some((r) => r.kind !== 'invalid')) {
    // Nothing to classify: fail the batch with the (first) reason, as TorchServe's PredictionException does.
    const first = requests.find((r): r is InvalidRequest => r.kind === 'invalid');
    throw new PredictionException(first?.message ?? 'No text to classify', 400);
  }
  const sequences: number[][] = [];
  const firstRow: number[] = [];
  for (const request of requests) {
    firstRow.push(sequences.length);
    if (request.kind !== 'invalid') for (const text of request.texts) sequences.push(encode(text));
  }
  return { sequences, requests, firstRow };
}

/** Element type of each declared model input. */
export type IdType = 'int64' | 'int32';

/**
 * The model inputs for a batch of token sequences, padded to the longest one. Only the declared
 * inputs are built: `input_ids`, `attention_mask` and, when the graph has it, `token_type_ids` (zeros:
 * single-segment inputs).
 */
export function buildFeeds(sequences: number[][], inputs: ReadonlyMap<string, IdType>, padTokenId: number): Record<string, ort.Tensor> {
  const batch = sequences.length;
  let length = 1;
  for (const seq of sequences) length = Math.max(length, seq.length);
  const fill = (type: IdType, valueAt: (seq: number[], j: number) => number, pad: number): ort.Tensor => {
    const data = type === 'int64' ? new BigInt64Array(batch * length) : new Int32Array(batch * length);
    const big = data instanceof BigInt64Array;
    for (let row = 0; row < batch; row++) {
      const seq = sequences[row] as number[];
      for (let j = 0; j < length; j++) {
        const v = j < seq.length ? valueAt(seq, j) : pad;
        if (big) (data as BigInt64Array)[row * length + j] = BigInt(v);
        else (data as Int32Array)[row * length + j] = v;
      }
    }
    return new ort.Tensor(type, data, [batch, length]);
  };
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, type] of inputs) {
    if (name === 'input_ids') feeds[name] = fill(type, (seq, j) => seq[j] as number, padTokenId);
    else if (name === 'attention_mask') feeds[name] = fill(type, () => 1, 0);
    // Single-segment inputs: every token is segment 0.
    else if (name === 'token_type_ids') feeds[name] = fill(type, () => 0, 0);
  }
  return feeds;
}

/** Softmax of one row of logits, in float64. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
