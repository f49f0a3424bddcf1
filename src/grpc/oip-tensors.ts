/**
 * The tensors of `open_inference_grpc.proto` (KServe v2 over gRPC) to and from their JSON form
 * (src/envelopes/tensor.ts), so that the REST and gRPC transports share one validation: an input's
 * elements are read from the `InferTensorContents` field of its datatype, or from `raw_input_contents`
 * (the protocol's little-endian layout: fixed-size elements back to back, BYTES elements each after a
 * 4-byte length), then handed to `parseInferenceRequest`, which checks datatypes, shapes against element
 * counts and value ranges. Messages are as @grpc/proto-loader gives them (PROTO_LOADER_OPTIONS): 64-bit
 * integers as decimal strings, absent messages null, absent repeated fields empty.
 */
import { DATATYPES, TensorError, type Datatype } from '../envelopes/tensor.js';
import type { OipInferResponse, OipOutputTensor } from '../inference/oip.js';

/** `InferTensorContents`: one repeated field per element type. */
export interface InferTensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: string[];
  contents: InferTensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: InferInputTensor[];
  outputs: Array<{ name: string }>;
  raw_input_contents: Buffer[];
}

/** An output tensor as the proto encodes it (64-bit integers may be numbers). */
export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents: Partial<Record<keyof InferTensorContents, unknown[]>>;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: InferOutputTensor[];
}

/** A tensor in the JSON form parseInferenceRequest validates. */
export interface JsonTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/**
 * How BYTES elements become JSON strings: `text` decodes UTF-8 (invalid UTF-8 is refused), for the
 * built-in text_classifier; `base64` encodes them, as TorchServe's OpenInferenceProtocolImpl hands them
 * to a handler.
 */
export type BytesAs = 'text' | 'base64';

/** The contents field of each datatype. FP16 has none: it travels in raw_input_contents only. */
const CONTENTS_FIELD: Record<Datatype, keyof InferTensorContents | null> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: null,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** Bytes per element in raw_input_contents (BYTES: variable). */
const RAW_SIZE: Record<Exclude<Datatype, 'BYTES'>, number> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  FP16: 2,
  INT32: 4,
  UINT32: 4,
  FP32: 4,
  INT64: 8,
  UINT64: 8,
  FP64: 8,
};

function isDatatype(v: string): v is Datatype {
  return (DATATYPES as readonly string[]).includes(v);
}

/** A 64-bit integer given as text: a number when JavaScript holds it exactly, else the text (which validation refuses). */
function int64(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function bytesElement(name: string, index: number, value: Uint8Array, as: BytesAs): string {
  if (as === 'base64') return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  try {
    return UTF8.decode(value);
  } catch {
    throw new TensorError(`Input "${name}" element ${index} is not valid UTF-8 text`);
  }
}

/** IEEE 754 half precision to a number. */
function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function readFixed(dt: Exclude<Datatype, 'BYTES'>, view: DataView, at: number, name: string, index: number): unknown {
  switch (dt) {
    case 'BOOL': {
      const b = view.getUint8(at);
      if (b > 1) throw new TensorError(`Input "${name}" element ${index} is not a valid BOOL byte (0 or 1): ${b}`);
      return b === 1;
    }
    case 'INT8':
      return view.getInt8(at);
    case 'UINT8':
      return view.getUint8(at);
    case 'INT16':
      return view.getInt16(at, true);
    case 'UINT16':
      return view.getUint16(at, true);
    case 'FP16':
      return fromHalf(view.getUint16(at, true));
    case 'INT32':
      return view.getInt32(at, true);
    case 'UINT32':
      return view.getUint32(at, true);
    case 'FP32':
      return view.getFloat32(at, true);
    case 'INT64':
      return int64(view.getBigInt64(at, true).toString());
    case 'UINT64':
      return int64(view.getBigUint64(at, true).toString());
    case 'FP64':
      return view.getFloat64(at, true);
  }
}

/** The elements of one input from its raw_input_contents entry. */
function rawElements(name: string, dt: Datatype, raw: Buffer, as: BytesAs): unknown[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: unknown[] = [];
  if (dt === 'BYTES') {
    for (let at = 0; at < raw.byteLength; ) {
      if (at + 4 > raw.byteLength) throw new TensorError(`Input "${name}": raw_input_contents ends inside the length of element ${out.length}`);
      const length = view.getUint32(at, true);
      at += 4;
      if (length > raw.byteLength - at) {
        throw new TensorError(`Input "${name}": raw_input_contents element ${out.length} claims ${length} bytes, only ${raw.byteLength - at} remain`);
      }
      out.push(bytesElement(name, out.length, raw.subarray(at, at + length), as));
      at += length;
    }
    return out;
  }
  const size = RAW_SIZE[dt];
  if (raw.byteLength % size !== 0) {
    throw new TensorError(`Input "${name}": raw_input_contents has ${raw.byteLength} bytes, not a whole number of ${dt} elements (${size} bytes each)`);
  }
  for (let i = 0; i < raw.byteLength / size; i++) out.push(readFixed(dt, view, i * size, name, i));
  return out;
}

const CONTENTS_FIELDS: ReadonlyArray<keyof InferTensorContents> = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

/** The contents fields that hold elements. */
function filledFields(contents: InferTensorContents | null): Array<keyof InferTensorContents> {
  return contents ? CONTENTS_FIELDS.filter((f) => (contents[f]?.length ?? 0) > 0) : [];
}

/** The elements of one input from its `contents`, read from the field of its datatype only. */
function contentElements(name: string, dt: Datatype, contents: InferTensorContents | null, as: BytesAs): unknown[] {
  const field = CONTENTS_FIELD[dt];
  const stray = filledFields(contents).find((f) => f !== field);
  if (stray) throw new TensorError(`Input "${name}" is ${dt} but carries ${stray}${field ? ` (${dt} elements go in ${field})` : ' (FP16 elements go in raw_input_contents)'}`);
  if (!field || !contents) return [];
  if (field === 'bytes_contents') return contents.bytes_contents.map((b, i) => bytesElement(name, i, b, as));
  if (field === 'int64_contents' || field === 'uint64_contents') return contents[field].map(int64);
  return contents[field];
}

/**
 * The request's inputs in their JSON form, ready for parseInferenceRequest (which checks the rest). Throws
 * TensorError for what cannot be read: an unknown datatype, a dimension beyond 2^53, elements in another
 * datatype's field, raw_input_contents that do not match the inputs or do not split into elements.
 */
export function inputTensors(req: ModelInferRequest, as: BytesAs): JsonTensor[] {
  const raw = req.raw_input_contents ?? [];
  const inputs = req.inputs ?? [];
  if (raw.length > 0 && raw.length !== inputs.length) {
    throw new TensorError(`raw_input_contents has ${raw.length} entries for ${inputs.length} inputs: it needs one per input, in order`);
  }
  return inputs.map((input, index) => {
    const name = input.name || `#${index}`;
    if (!isDatatype(input.datatype)) throw new TensorError(`Input "${name}" has an unsupported datatype ${JSON.stringify(input.datatype)}`);
    const shape = (input.shape ?? []).map((d) => {
      const n = Number(d);
      if (!Number.isSafeInteger(n)) throw new TensorError(`Input "${name}" has a shape dimension out of range: ${d}`);
      return n;
    });
    let data: unknown[];
    if (raw.length > 0) {
      // The protocol: when raw_input_contents is used, no input may have contents.
      if (filledFields(input.contents).length > 0) throw new TensorError(`Input "${name}" has contents while raw_input_contents is used: send all inputs one way`);
      data = rawElements(name, input.datatype, raw[index]!, as);
    } else {
      data = contentElements(name, input.datatype, input.contents, as);
    }
    return { name: input.name, shape, datatype: input.datatype, data };
  });
}

/** A handler's answer that is not an OIP response: reported as INTERNAL. */
export class OutputTensorError extends Error {}

function outputElements(t: OipOutputTensor): Pick<InferOutputTensor, 'contents'> {
  const dt = t.datatype;
  if (!isDatatype(dt)) throw new OutputTensorError(`Output "${t.name}" has an unsupported datatype ${JSON.stringify(dt)}`);
  const field = CONTENTS_FIELD[dt];
  if (!field) throw new OutputTensorError(`Output "${t.name}" is FP16, which InferTensorContents cannot carry`);
  const check = (ok: (v: unknown) => boolean): unknown[] => {
    const bad = t.data.findIndex((v) => !ok(v));
    if (bad >= 0) throw new OutputTensorError(`Output "${t.name}" element ${bad} is not a ${dt} value: ${JSON.stringify(t.data[bad])}`);
    return t.data;
  };
  if (dt === 'BYTES') {
    // Strings as their UTF-8 bytes; anything else (numpy's object arrays) as its JSON text.
    return { contents: { bytes_contents: t.data.map((v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8')) } };
  }
  if (dt === 'BOOL') return { contents: { bool_contents: check((v) => typeof v === 'boolean') } };
  if (dt === 'FP32' || dt === 'FP64') return { contents: { [field]: check((v) => typeof v === 'number') } };
  return { contents: { [field]: check((v) => typeof v === 'number' && Number.isInteger(v)) } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `"x"` or `1` as a string field, as TorchServe's `getAsString` reads them. */
function text(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/**
 * An OIP response in its JSON form (the handler's, through the kservev2 envelope, or the text
 * classifier's) as a `ModelInferResponse`. Throws OutputTensorError when it is not one.
 */
export function inferResponse(body: unknown): ModelInferResponse {
  if (!isObject(body) || !Array.isArray(body['outputs'])) throw new OutputTensorError('The handler did not answer an Open Inference Protocol response {"outputs": [...]}');
  const answer = body as unknown as OipInferResponse;
  const outputs = answer.outputs.map((o, i) => {
    if (!isObject(o) || typeof o.name !== 'string' || !Array.isArray(o.shape) || !Array.isArray(o.data) || typeof o.datatype !== 'string') {
      throw new OutputTensorError(`Output ${i} is not a tensor {"name", "shape", "datatype", "data"}`);
    }
    if (!o.shape.every((d) => Number.isSafeInteger(d))) throw new OutputTensorError(`Output "${o.name}" has a shape that is not a list of integers`);
    return { name: o.name, datatype: o.datatype, shape: o.shape, ...outputElements(o) };
  });
  return { id: text(answer.id), model_name: text(answer.model_name), model_version: text(answer.model_version), outputs };
}
