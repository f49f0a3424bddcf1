/**
 * What one request of a vision handler carries, read as TorchServe's VisionHandler reads it
 * (`row.get("data") or row.get("body")`): bytes are an image; a string is a base64-encoded image; a
 * list of numbers is an already-prepared tensor (TorchServe's `torch.FloatTensor(image)`). ortserve also
 * accepts a list of base64 strings: several images in one request, answered with a list.
 */
import type { RequestRow } from '../../handler-api/index.js';

export type VisionInput =
  | { kind: 'image'; bytes: Uint8Array }
  | { kind: 'tensor'; dims: number[]; data: Float32Array };

export type VisionRequest =
  | { kind: 'valid'; inputs: VisionInput[]; /** Answer with a list (several images were sent). */ many: boolean }
  | { kind: 'invalid'; message: string };

const BASE64 = /^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/;
// Enough for one [3, 8192, 8192] tensor; a bigger JSON list is refused before it is copied.
const MAX_TENSOR_VALUES = 3 * 8192 * 8192;

function fromBase64(text: string): VisionInput | string {
  // A data URL ("data:image/png;base64,...") is what browsers' FileReader gives; its payload is the image.
  const payload = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  if (!BASE64.test(payload)) return 'A string input must be a base64-encoded image';
  return { kind: 'image', bytes: new Uint8Array(Buffer.from(payload, 'base64')) };
}

/** A nested list of numbers → its shape and float32 values; a message when it is not rectangular. */
export function nestedToTensor(value: unknown[]): VisionInput | string {
  const dims: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    dims.push(level.length);
    level = level[0];
  }
  const total = dims.reduce((a, b) => a * b, 1);
  if (total === 0 || total > MAX_TENSOR_VALUES) return `A tensor input must have from 1 to ${MAX_TENSOR_VALUES} values`;
  const data = new Float32Array(total);
  let at = 0;
  const walk = (node: unknown, depth: number): boolean => {
    if (depth === dims.length) {
      if (typeof node !== 'number' || !Number.isFinite(node)) return false;
      data[at++] = node;
      return true;
    }
    if (!Array.isArray(node) || node.length !== dims[depth]) return false;
    return node.every((child) => walk(child, depth + 1));
  };
  if (!walk(value, 0)) return 'A list input must be a rectangular nested list of numbers (a tensor) or a list of base64-encoded images';
  return { kind: 'tensor', dims, data };
}

function fromList(list: unknown[]): VisionRequest {
  if (list.length > 0 && list.every((v) => typeof v === 'string')) {
    const inputs: VisionInput[] = [];
    for (const item of list as string[]) {
      const input = fromBase64(item);
      if (typeof input === 'string') return { kind: 'invalid', message: input };
      inputs.push(input);
    }
    return { kind: 'valid', inputs, many: true };
  }
  const tensor = nestedToTensor(list);
  return typeof tensor === 'string' ? { kind: 'invalid', message: tensor } : { kind: 'valid', inputs: [tensor], many: false };
}

export function parseVisionRequest(row: RequestRow): VisionRequest {
  const data = row['data'];
  const emptyData = data === undefined || data === null || data === '' || (data instanceof Uint8Array && data.byteLength === 0);
  const value = emptyData ? row['body'] : data;
  if (value instanceof Uint8Array) return { kind: 'valid', inputs: [{ kind: 'image', bytes: value }], many: false };
  if (value instanceof ArrayBuffer) return { kind: 'valid', inputs: [{ kind: 'image', bytes: new Uint8Array(value) }], many: false };
  if (typeof value === 'string') {
    const input = fromBase64(value.trim());
    return typeof input === 'string' ? { kind: 'invalid', message: input } : { kind: 'valid', inputs: [input], many: false };
  }
  if (Array.isArray(value)) return fromList(value);
  if (value === undefined || value === null) return { kind: 'invalid', message: 'The request has no image ("data" or "body")' };
  return { kind: 'invalid', message: 'Expected image bytes, a base64-encoded image, a list of them, or a tensor as a nested list' };
}
