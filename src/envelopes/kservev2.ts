/**
 * The KServe v2 / Open Inference Protocol envelope (`service_envelope=kservev2`; TorchServe's
 * `request_envelope/kservev2.py`): `{"id"?, "inputs": [{"name", "shape", "datatype", "data"}, ...]}` →
 * the handler gets the request's first input tensor; its output comes back as
 * `{"id", "model_name", "model_version", "outputs": [{"name", "shape", "datatype", "data"}]}`, each output
 * named after the input at its index, as TorchServe names them. A BYTES input reaches the handler with
 * `data` as its one string (TorchServe's `input["data"][0]`), or its strings when it has several, so the
 * built-in text_classifier gets texts.
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
    const first = ((body as { inputs: Array<Record<string, unknown>> }).inputs)[0]!;
    const tensor = request.inputs[0]!;
    const item = tensor.datatype === 'BYTES' ? { ...first, shape: tensor.shape, data: tensor.data.length === 1 ? tensor.data[0] : tensor.data } : first;
    return { items: [item], id: request.id, inputNames: request.inputs.map((t) => t.name) };
  } catch (err) {
    if (err instanceof TensorError) return { error: err.message };
    throw err;
  }
}

export function wrapKservev2(outputs: unknown[], r: WrapRequest): unknown {
  // TorchServe indexes the input names by output; an output past the last input keeps the last name.
  const name = (i: number): string => r.inputNames[Math.min(i, r.inputNames.length - 1)] ?? (r.explain ? 'explain' : 'predict');
  return {
    id: r.id ?? r.requestId,
    model_name: r.modelName,
    model_version: r.modelVersion,
    outputs: outputs.map((o, i) => toOutputTensor(name(i), o)),
  };
}

export const kservev2Envelope: Envelope = {
  name: 'kservev2',
  unwrap: unwrapKservev2,
  wrap: wrapKservev2,
  errorBody: (message) => ({ error: message }),
};
