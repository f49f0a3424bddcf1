/**
 * Request envelopes (config `service_envelope`, TS_SERVICE_ENVELOPE; spec §1.8): they wrap a handler's
 * entry point, as TorchServe's `BaseEnvelope.handle` wraps `handle`. The handler sees the unwrapped
 * items; each request gets its own wrapped answer. They apply to every route, as in TorchServe.
 */
import type { Context, ResponseSettings } from '../handler-api/context.js';
import type { RequestRow } from '../handler-api/types.js';
import { kserveEnvelope } from './kserve.js';
import { kservev2Envelope } from './kservev2.js';
import type { Envelope, Unwrapped } from './types.js';

export type { Envelope, Unwrapped, WrapRequest } from './types.js';

/** A handler entry point as the worker calls it. */
export type Entry = (data: RequestRow[], ctx: Context) => Promise<unknown>;

const ENVELOPES: Record<string, Envelope> = { kserve: kserveEnvelope, kservev2: kservev2Envelope };

/** The envelope named by `service_envelope`; null for none. Throws for a name ortserve does not have. */
export function envelopeFor(name: string | null | undefined): Envelope | null {
  if (name === null || name === undefined || name.trim() === '') return null;
  const envelope = ENVELOPES[name.trim().toLowerCase()];
  if (!envelope) throw new Error(`Unsupported service_envelope "${name}": ortserve has ${Object.keys(ENVELOPES).join(', ')}`);
  return envelope;
}

/** `entry` wrapped in the named envelope (`entry` itself without one). */
export function withEnvelope(entry: Entry, name: string | null | undefined): Entry {
  const envelope = envelopeFor(name);
  return envelope ? (data, ctx) => handleEnveloped(envelope, entry, data, ctx) : entry;
}

/** What encodeOutput turns into TorchServe's 503 "number of batch response mismatched". */
function mismatched(requests: number): unknown[] {
  return new Array<unknown>(requests + 1).fill(null);
}

export async function handleEnveloped(envelope: Envelope, entry: Entry, rows: RequestRow[], ctx: Context): Promise<unknown> {
  const parts: Unwrapped[] = rows.map((row) => envelope.unwrap(row));
  const owners: number[] = [];
  const items: unknown[] = [];
  parts.forEach((p, i) => {
    if ('items' in p) for (const item of p.items) (items.push(item), owners.push(i));
  });
  const ids = rows.map((_, i) => ctx.getRequestId(i) ?? '');
  const headers = rows.map((_, i) => ctx.getAllRequestHeaders(i));
  const oneToOne = owners.length === rows.length && owners.every((o, i) => o === i);
  // The handler addresses its items by index (setResponseStatus(code, phrase, idx) …): give each item
  // its request's id and headers, then fold the items' settings back into their requests'.
  if (!oneToOne) ctx.startBatch(owners.map((o) => ids[o]!), owners.map((o) => headers[o]!));
  let outputs: unknown = [];
  if (items.length > 0) outputs = await entry(items as RequestRow[], ctx);
  if (!oneToOne) foldSettings(ctx, owners, ids);
  if (!Array.isArray(outputs)) return outputs;
  if (outputs.length !== items.length) return mismatched(rows.length);
  let next = 0;
  return parts.map((p, i) => {
    if ('error' in p) {
      ctx.setResponseStatus(400, '', i);
      ctx.setResponseContentType(i, 'application/json');
      return envelope.errorBody(p.error);
    }
    const mine = outputs.slice(next, (next += p.items.length));
    return envelope.wrap(mine, {
      id: p.id,
      inputNames: p.inputNames ?? [],
      requestId: ids[i]!,
      explain: headers[i]!['explain'] === 'True',
      modelName: ctx.modelName,
      modelVersion: ctx.modelVersion,
    });
  });
}

/**
 * Per request, the settings of its items: the first status other than 200 (with its phrase), the first
 * content type set, every header. Written back in place: the worker reads `responseSettings()` after
 * the handler, one entry per request.
 */
function foldSettings(ctx: Context, owners: number[], ids: string[]): void {
  const requests = ids.length;
  const live = ctx.responseSettings() as ResponseSettings[];
  const itemSettings = live.map((s) => ({ ...s, headers: { ...s.headers } }));
  const folded: ResponseSettings[] = Array.from({ length: requests }, () => ({ status: 200, phrase: '', contentType: null, headers: {} }));
  itemSettings.forEach((s, k) => {
    const f = folded[owners[k]!]!;
    if (f.status === 200 && s.status !== 200) (f.status = s.status), (f.phrase = s.phrase);
    f.contentType ??= s.contentType;
    Object.assign(f.headers, s.headers);
  });
  live.splice(0, live.length, ...folded);
  ctx.requestIds = Object.fromEntries(ids.map((id, i) => [i, id]));
}
