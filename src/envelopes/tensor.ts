/**
 * Open Inference Protocol (KServe v2) tensors in their JSON form: validation of a request's input
 * tensors, and an output tensor built from any handler value the way TorchServe's kservev2 envelope
 * builds it with numpy (`np.array(value)`: shape, datatype, row-major flattened data).
 */

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

/** One tensor of an inference request or response, `data` flattened in row-major order. */
export interface Tensor {
  name: string;
  shape: number[];
  datatype: Datatype;
  data: unknown[];
  parameters?: Record<string, unknown>;
}

/** A validated OIP inference request (`$inference_request`). */
export interface InferenceRequest {
  id: string | null;
  inputs: Tensor[];
  /** The outputs the client asked for by name; null: all of them. */
  outputs: string[] | null;
  parameters: Record<string, unknown> | null;
}

/** A request that breaks the protocol; its message is sent as `{"error": message}` with status 400. */
export class TensorError extends Error {}

const INT_RANGES: Record<string, [number, number]> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function flatten(data: unknown[]): unknown[] {
  return data.some(Array.isArray) ? (data.flat(Infinity) as unknown[]) : data;
}

function checkElement(datatype: Datatype, v: unknown): boolean {
  if (datatype === 'BYTES') return typeof v === 'string';
  if (datatype === 'BOOL') return typeof v === 'boolean';
  if (typeof v !== 'number' || Number.isNaN(v)) return false;
  if (datatype.startsWith('FP')) return true;
  const [lo, hi] = INT_RANGES[datatype]!;
  return Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * Validates one input tensor: known datatype, a shape of non-negative integers, data that fills it.
 * TorchServe's own BYTES requests (kubernetes/kserve/kf_request_json/v2/bert/bert_bytes_v2.json) send
 * `"shape": -1` and `data` as one plain string: for BYTES, a string is one element and a shape of -1 (or
 * one -1 dimension) means "as many elements as `data` has".
 */
export function parseTensor(raw: unknown, index: number): Tensor {
  if (!isObject(raw)) throw new TensorError(`Input ${index} is not a tensor object {"name", "shape", "datatype", "data"}`);
  const { name, datatype, parameters } = raw;
  let { shape, data } = raw;
  if (typeof name !== 'string' || name === '') throw new TensorError(`Input ${index} has no "name"`);
  if (typeof datatype !== 'string' || !(DATATYPES as readonly string[]).includes(datatype)) {
    throw new TensorError(`Input "${name}" has an unsupported datatype ${JSON.stringify(datatype)}`);
  }
  if (datatype === 'BYTES') {
    if (typeof data === 'string') data = [data];
    if (Array.isArray(data) && (shape === -1 || (Array.isArray(shape) && shape.length === 1 && shape[0] === -1))) shape = [flatten(data).length];
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw new TensorError(`Input "${name}" needs a "shape" of non-negative integers`);
  }
  if (!Array.isArray(data)) throw new TensorError(`Input "${name}" needs a "data" array`);
  const flat = flatten(data);
  const count = (shape as number[]).reduce((n, d) => n * d, 1);
  if (flat.length !== count) {
    throw new TensorError(`Input "${name}" has shape ${JSON.stringify(shape)} (${count} elements) but ${flat.length} data elements`);
  }
  const dt = datatype as Datatype;
  const bad = flat.findIndex((v) => !checkElement(dt, v));
  if (bad >= 0) throw new TensorError(`Input "${name}" element ${bad} is not a valid ${dt} value: ${JSON.stringify(flat[bad])}`);
  const tensor: Tensor = { name, shape: shape as number[], datatype: dt, data: flat };
  if (isObject(parameters)) tensor.parameters = parameters;
  return tensor;
}

/** Validates an OIP inference request body (already parsed JSON). */
export function parseInferenceRequest(body: unknown): InferenceRequest {
  if (!isObject(body)) throw new TensorError('The request body must be a JSON object {"inputs": [...]}');
  const { id, inputs, outputs, parameters } = body;
  if (id !== undefined && typeof id !== 'string') throw new TensorError('"id" must be a string');
  if (!Array.isArray(inputs) || inputs.length === 0) throw new TensorError('The request needs a non-empty "inputs" array');
  let names: string[] | null = null;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs) || !outputs.every((o) => isObject(o) && typeof o['name'] === 'string')) {
      throw new TensorError('"outputs" must be an array of {"name": ...}');
    }
    names = outputs.map((o) => (o as { name: string }).name);
  }
  return {
    id: id ?? null,
    inputs: inputs.map(parseTensor),
    outputs: names,
    parameters: isObject(parameters) ? parameters : null,
  };
}

/** Parses a request body given as bytes, text or already-decoded JSON (TorchServe's envelopes accept all three). */
export function jsonBody(value: unknown): unknown {
  if (value instanceof Uint8Array) value = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new TensorError('The request body is not valid JSON');
  }
}

/** numpy's shape of `np.array(value)`: the dimensions of a rectangular nest of arrays, else []. */
function shapeOf(value: unknown): number[] {
  if (!Array.isArray(value)) return [];
  if (value.length === 0) return [0];
  const inner = value.map(shapeOf);
  const first = JSON.stringify(inner[0]);
  // A ragged nest is an array of objects for numpy (dtype=object), of its outer length.
  if (!inner.every((s) => JSON.stringify(s) === first)) return [value.length];
  return [value.length, ...inner[0]!];
}

/** numpy's dtype of the elements, named as the v2 protocol names it (`_to_datatype`). */
function datatypeOf(elements: unknown[]): Datatype {
  if (elements.length === 0) return 'FP64';
  if (elements.every((v) => typeof v === 'boolean')) return 'BOOL';
  if (elements.every((v) => typeof v === 'number' || typeof v === 'boolean')) {
    return elements.every((v) => typeof v === 'boolean' || Number.isInteger(v)) ? 'INT64' : 'FP64';
  }
  return 'BYTES';
}

/**
 * TorchServe's `_to_json`: `{"name", "shape", "datatype", "data"}` of `np.array(value).flatten()`: always
 * one dimension, so a label string is `shape [1], data ["label"]` and a 2×3 nest is `shape [6]`. A ragged
 * nest is numpy's object array of its rows (BYTES).
 */
export function toOutputTensor(name: string, value: unknown): { name: string; shape: number[]; datatype: Datatype; data: unknown[] } {
  const shape = shapeOf(value);
  if (shape.length === 0) return { name, shape: [1], datatype: datatypeOf([value]), data: [value] };
  const ragged = shape.length === 1 && Array.isArray(value) && value.some(Array.isArray);
  const data = ragged ? (value as unknown[]) : (value as unknown[]).flat(shape.length - 1);
  return { name, shape: [data.length], datatype: ragged ? 'BYTES' : datatypeOf(data), data };
}
