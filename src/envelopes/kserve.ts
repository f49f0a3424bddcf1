/**
 * The KServe v1 envelope (`service_envelope=kserve`; TorchServe's `request_envelope/kserve.py`):
 * `{"instances": [...]}` → the handler gets the instances; its outputs come back as
 * `{"predictions": [...]}`, or `{"explanations": [...]}` when the request's `explain` header is "True".
 *
 * Unlike TorchServe's, which reads only the first request of a batch and answers one response for the
 * whole batch (so it only works with batch_size 1), the instances of every request in the batch are
 * joined for the handler and its outputs split back per request.
 */
import type { RequestRow } from '../handler-api/types.js';
import { jsonBody } from './tensor.js';
import type { Envelope, Unwrapped } from './types.js';

/** TorchServe's `row.get("data") or row.get("body")` (Python truthiness: an empty value falls through). */
export function rowBody(row: RequestRow): unknown {
  const data = row['data'];
  const empty = data === undefined || data === null || data === '' || (data instanceof Uint8Array && data.byteLength === 0);
  return empty ? row['body'] : data;
}

/** One request's instances, or the reason it is not a KServe v1 request. */
export function unwrapKserve(row: RequestRow): Unwrapped {
  let body: unknown;
  try {
    body = jsonBody(rowBody(row));
  } catch (err) {
    return { error: (err as Error).message };
  }
  const instances = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)['instances'] : undefined;
  if (!Array.isArray(instances)) return { error: 'Expected a JSON body {"instances": [...]}' };
  return { items: instances, id: null };
}

/** One request's answer from the handler's outputs for its instances. */
export function wrapKserve(outputs: unknown[], explain: boolean): unknown {
  return explain ? { explanations: outputs } : { predictions: outputs };
}

export const kserveEnvelope: Envelope = {
  name: 'kserve',
  unwrap: unwrapKserve,
  wrap: (outputs, r) => wrapKserve(outputs, r.explain),
  // The KServe v1 route is one of TorchServe's own: its errors keep TorchServe's shape.
  errorBody: (message) => ({ code: 400, type: 'BadRequestException', message }),
};
