/** How request parameters reach a handler and how its answers become bytes, as TorchServe does it. */
import type { RequestRow } from '../handler-api/types.js';
import type { WireParameter, WireRequest } from './messages.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Decodes one parameter (spec §1.4): application/json → parsed JSON (raw bytes when it does not
 * parse), text/* → string (bytes when not UTF-8), anything else → bytes.
 */
export function decodeParameter(p: WireParameter, decode: boolean): unknown {
  const bytes = Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength);
  if (!decode || p.contentType === null) return bytes;
  const ct = p.contentType.toLowerCase();
  if (ct === 'application/json') {
    try {
      return JSON.parse(utf8.decode(bytes));
    } catch {
      return bytes;
    }
  }
  if (ct.startsWith('text')) {
    try {
      return utf8.decode(bytes);
    } catch {
      return bytes;
    }
  }
  return bytes;
}

/** One request as the handler sees it: `{name: value}`, the last duplicate field winning. */
export function toRequestRow(req: WireRequest, decode: boolean): RequestRow {
  const row: RequestRow = {};
  for (const p of req.parameters) row[p.name] = decodeParameter(p, decode);
  return row;
}

/** The header map of `context.getRequestHeader`: HTTP headers plus `{param: {"content-type": ct}}`. */
export function toHandlerHeaders(req: WireRequest): Record<string, unknown> {
  const headers: Record<string, unknown> = { ...req.headers };
  for (const p of req.parameters) headers[p.name] = { 'content-type': p.contentType ?? '' };
  return headers;
}

export class UnsupportedOutputError extends Error {}

/**
 * Answers from this many bytes up go to the HTTP thread by transfer rather than by structured clone,
 * which copies them twice (into the message, then out of it on the HTTP thread). Below it, a transfer
 * costs more than the copy (measured: 8 answers of 16 bytes, issue 16).
 */
export const TRANSFER_MIN_BYTES = 16 * 1024;

/**
 * Encodes a handler's answer (spec §1.5): strings as UTF-8, bytes as they are, anything else as
 * `json.dumps(value, indent=2)` would write it (ASCII-only, non-ASCII escaped as \uXXXX).
 * An answer of TRANSFER_MIN_BYTES or more always has a backing ArrayBuffer of its own that nothing
 * else holds, so that transferables() may hand it over.
 */
export function encodeResponse(value: unknown): Uint8Array {
  if (typeof value === 'string') return utf8Encoder.encode(value);
  // The handler may keep its bytes (a cached answer): a transfer would empty them, so large ones are copied.
  if (value instanceof Uint8Array) return value.byteLength >= TRANSFER_MIN_BYTES ? new Uint8Array(value) : ownBuffer(value);
  if (value instanceof ArrayBuffer) return value.byteLength >= TRANSFER_MIN_BYTES ? new Uint8Array(value.slice(0)) : new Uint8Array(value);
  let json: string | undefined;
  try {
    json = JSON.stringify(value ?? null, null, 2);
  } catch (err) {
    throw new UnsupportedOutputError(err instanceof Error ? err.message : String(err));
  }
  if (json === undefined) throw new UnsupportedOutputError(`cannot encode a ${typeof value}`);
  return utf8Encoder.encode(escapeNonAscii(json));
}

/** The backing buffers of the large encoded answers (encodeResponse's), for postMessage's transfer list. */
export function transferables(bodies: Iterable<Uint8Array>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const b of bodies) if (b.byteLength >= TRANSFER_MIN_BYTES && b.buffer instanceof ArrayBuffer) out.add(b.buffer);
  return [...out];
}

/**
 * The answer goes back to the HTTP thread by structured clone, which copies a view's whole backing
 * ArrayBuffer: a small Buffer sits in Node's 8 KiB pool, so it is copied out first. TextEncoder's
 * output always has a backing store of its own size.
 */
function ownBuffer(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : new Uint8Array(view);
}

function escapeNonAscii(json: string): string {
  // Non-ASCII characters only occur inside JSON strings, so escaping them in place keeps the JSON valid.
  return json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
