/**
 * The KServe v2 / Open Inference Protocol envelope (`service_envelope=kservev2`; TorchServe's
 * `request_envelope/kservev2.py`): `{"id"?, "inputs": [{"name", "shape", "datatype", "data"}, ...]}` →
 * the handler gets the request's first input tensor, as sent; its output comes back as
 * `{"id", "model_name", "model_version", "outputs": [{"name": "predict"|"explain", "shape", "datatype", "data"}]}`.
 *
 * TorchServe's envelope answers a whole batch with one response (all outputs in one `outputs` list), so
 * it only works with batch_size 1; here every request of a batch gets its own response. The inputs are
 * checked against the protocol (datatype, shape, data) first: a bad request is answered 400
 * `{"error": "..."}` instead of failing the batch.
 */
import type { RequestRow } from '../handler-api/types.js';
import { rowBody } from './kserve.js';
import { jsonBody, parseInferenceRequest, TensorError, toOutputTensor } from './tensor.js';
import type { Envelope, Unwrapped, WrapRequest } from './types.js';

export function unwrapKservev2(row: RequestRow): Unwrapped {
  try {
    const body = jsonBody(rowBody(row));
    const request = parseInferenceRequest(body);
    // The first input as the client sent it (data not flattened), as TorchServe hands it over.
    const first = ((body as { inputs: unknown[] }).inputs)[0];
    return { items: [first], id: request.id };
  } catch (err) {
    if (err instanceof TensorError) return { error: err.message };
    throw err;
  }
}

export function wrapKservev2(outputs: unknown[], r: WrapRequest): unknown {
  const name = r.explain ? 'explain' : 'predict';
  return {
    id: r.id ?? r.requestId,
    model_name: r.modelName,
    model_version: r.modelVersion,
    outputs: outputs.map((o) => toOutputTensor(name, o)),
  };
}

export const kservev2Envelope: Envelope = {
  name: 'kservev2',
  unwrap: unwrapKservev2,
  wrap: wrapKservev2,
  errorBody: (message) => ({ error: message }),
};
