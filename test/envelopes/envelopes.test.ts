/** The KServe v1 and v2 envelopes as pure functions, and their wrapping of a handler's entry point. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envelopeFor, handleEnveloped, withEnvelope, type Entry } from '../../src/envelopes/index.js';
import { kserveEnvelope, unwrapKserve, wrapKserve } from '../../src/envelopes/kserve.js';
import { kservev2Envelope, unwrapKservev2, wrapKservev2 } from '../../src/envelopes/kservev2.js';
import { parseInferenceRequest, parseTensor, TensorError, toOutputTensor } from '../../src/envelopes/tensor.js';
import { Context } from '../../src/handler-api/context.js';
import type { RequestRow } from '../../src/handler-api/types.js';

const bytes = (v: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(v)));

function context(requests: number, explain = false): Context {
  const ctx = new Context({
    modelName: 'm',
    modelVersion: '2.0',
    manifest: { runtime: 'python', model: { modelName: 'm', modelVersion: '2.0' } },
    modelYamlConfig: {},
    systemProperties: {} as never,
  });
  const ids = Array.from({ length: requests }, (_, i) => `req-${i}`);
  ctx.startBatch(ids, ids.map(() => ({ explain: explain ? 'True' : 'False' })));
  return ctx;
}

describe('KServe v1 envelope', () => {
  it('unwraps {"instances"} from JSON, bytes or text, data before body', () => {
    assert.deepEqual(unwrapKserve({ body: { instances: [1, { data: 'x' }] } }), { items: [1, { data: 'x' }], id: null });
    assert.deepEqual(unwrapKserve({ body: bytes({ instances: ['a'] }) }), { items: ['a'], id: null });
    assert.deepEqual(unwrapKserve({ data: '{"instances": [2]}', body: 'ignored' }), { items: [2], id: null });
    assert.deepEqual(unwrapKserve({ data: '', body: { instances: [] } }), { items: [], id: null });
  });

  it('rejects bodies without an instances list', () => {
    assert.deepEqual(unwrapKserve({ body: { inputs: [1] } }), { error: 'Expected a JSON body {"instances": [...]}' });
    assert.deepEqual(unwrapKserve({ body: new Uint8Array(Buffer.from('not json')) }), { error: 'The request body is not valid JSON' });
    assert.deepEqual(kserveEnvelope.errorBody('bad'), { code: 400, type: 'BadRequestException', message: 'bad' });
  });

  it('wraps outputs as predictions, or explanations for explain requests', () => {
    assert.deepEqual(wrapKserve([2, 'x'], false), { predictions: [2, 'x'] });
    assert.deepEqual(wrapKserve([[0.1]], true), { explanations: [[0.1]] });
  });
});

describe('KServe v2 envelope', () => {
  const input = { name: 'input-0', shape: [2, 2], datatype: 'INT64', data: [[1, 2], [3, 4]] };

  it('gives the handler the first input as sent, and keeps the request id', () => {
    assert.deepEqual(unwrapKservev2({ body: { id: 'abc', inputs: [input, { name: 'b', shape: [1], datatype: 'BYTES', data: ['x'] }] } }), {
      items: [input],
      id: 'abc',
      inputNames: ['input-0', 'b'],
    });
    assert.deepEqual(unwrapKservev2({ body: bytes({ inputs: [input] }) }), { items: [input], id: null, inputNames: ['input-0'] });
  });

  it("takes TorchServe's own BYTES requests: shape -1, data as one plain string, handed over as texts", () => {
    // pytorch/serve kubernetes/kserve/kf_request_json/v2/bert/bert_bytes_v2.json
    const bert = { id: 'd3b1', inputs: [{ name: '4b7c', shape: -1, datatype: 'BYTES', data: 'this year business is good' }] };
    assert.deepEqual(unwrapKservev2({ body: bert }), {
      items: [{ name: '4b7c', shape: [1], datatype: 'BYTES', data: 'this year business is good' }],
      id: 'd3b1',
      inputNames: ['4b7c'],
    });
    const two = { inputs: [{ name: 't', shape: [-1], datatype: 'BYTES', data: ['a b', 'c d'] }] };
    assert.deepEqual(unwrapKservev2({ body: two }), { items: [{ name: 't', shape: [2], datatype: 'BYTES', data: ['a b', 'c d'] }], id: null, inputNames: ['t'] });
  });

  it('answers protocol errors with {"error"}', () => {
    assert.deepEqual(unwrapKservev2({ body: { instances: [1] } }), { error: 'The request needs a non-empty "inputs" array' });
    assert.deepEqual(unwrapKservev2({ body: { inputs: [{ ...input, shape: [3] }] } }), {
      error: 'Input "input-0" has shape [3] (3 elements) but 4 data elements',
    });
    assert.deepEqual(kservev2Envelope.errorBody('bad'), { error: 'bad' });
  });

  it("wraps one output per request in TorchServe's response shape", () => {
    const r = { id: null, requestId: 'uuid-1', inputNames: ['input-0'], explain: false, modelName: 'bert', modelVersion: '1' };
    // Outputs are named after the request's inputs, as TorchServe's kservev2 envelope names them.
    assert.deepEqual(wrapKservev2([[2]], r), {
      id: 'uuid-1',
      model_name: 'bert',
      model_version: '1',
      outputs: [{ name: 'input-0', shape: [1], datatype: 'INT64', data: [2] }],
    });
    assert.deepEqual(wrapKservev2(['Accepted'], { ...r, id: 'given', explain: true }), {
      id: 'given',
      model_name: 'bert',
      model_version: '1',
      outputs: [{ name: 'input-0', shape: [1], datatype: 'BYTES', data: ['Accepted'] }],
    });
  });
});

describe('OIP tensors', () => {
  it('validates BYTES, INT and FP tensors and flattens nested data', () => {
    assert.deepEqual(parseTensor({ name: 't', shape: [2], datatype: 'BYTES', data: ['a', 'b'] }, 0), {
      name: 't',
      shape: [2],
      datatype: 'BYTES',
      data: ['a', 'b'],
    });
    assert.deepEqual(parseTensor({ name: 'i', shape: [1, 3], datatype: 'INT32', data: [[1, -2, 3]] }, 0).data, [1, -2, 3]);
    assert.deepEqual(parseTensor({ name: 'f', shape: [2], datatype: 'FP32', data: [0.5, 1] }, 0).data, [0.5, 1]);
    const bad = (t: unknown, message: string) => assert.throws(() => parseTensor(t, 0), (e: unknown) => e instanceof TensorError && e.message === message);
    bad({ name: 'i', shape: [1], datatype: 'INT8', data: [300] }, 'Input "i" element 0 is not a valid INT8 value: 300');
    bad({ name: 'i', shape: [1], datatype: 'UINT8', data: [1.5] }, 'Input "i" element 0 is not a valid UINT8 value: 1.5');
    bad({ name: 'b', shape: [1], datatype: 'BYTES', data: [1] }, 'Input "b" element 0 is not a valid BYTES value: 1');
    bad({ name: 'x', shape: [1], datatype: 'FLOAT', data: [1] }, 'Input "x" has an unsupported datatype "FLOAT"');
    bad({ name: 'x', shape: [-1], datatype: 'FP32', data: [1] }, 'Input "x" needs a "shape" of non-negative integers');
    bad({ name: 'x', shape: -1, datatype: 'FP32', data: [1] }, 'Input "x" needs a "shape" of non-negative integers');
    bad({ name: 'b', shape: [2], datatype: 'BYTES', data: 'one' }, 'Input "b" has shape [2] (2 elements) but 1 data elements');
    bad({ shape: [1], datatype: 'FP32', data: [1] }, 'Input 0 has no "name"');
  });

  it('parses a request with id and requested outputs', () => {
    const r = parseInferenceRequest({ id: '7', inputs: [{ name: 't', shape: [1], datatype: 'BYTES', data: ['x'] }], outputs: [{ name: 'label' }] });
    assert.equal(r.id, '7');
    assert.deepEqual(r.outputs, ['label']);
    assert.throws(() => parseInferenceRequest([]), TensorError);
    assert.throws(() => parseInferenceRequest({ id: 1, inputs: [] }), TensorError);
  });

  it("builds output tensors as TorchServe's np.array(value).flatten() does: one dimension", () => {
    assert.deepEqual(toOutputTensor('p', [[1, 2, 3], [4, 5, 6]]), { name: 'p', shape: [6], datatype: 'INT64', data: [1, 2, 3, 4, 5, 6] });
    assert.deepEqual(toOutputTensor('p', [0.5, 1]), { name: 'p', shape: [2], datatype: 'FP64', data: [0.5, 1] });
    assert.deepEqual(toOutputTensor('p', [true, false]), { name: 'p', shape: [2], datatype: 'BOOL', data: [true, false] });
    assert.deepEqual(toOutputTensor('p', ['a', 'b']), { name: 'p', shape: [2], datatype: 'BYTES', data: ['a', 'b'] });
    assert.deepEqual(toOutputTensor('p', 3), { name: 'p', shape: [1], datatype: 'INT64', data: [3] });
    assert.deepEqual(toOutputTensor('p', 'music'), { name: 'p', shape: [1], datatype: 'BYTES', data: ['music'] });
    assert.deepEqual(toOutputTensor('p', { a: 1 }), { name: 'p', shape: [1], datatype: 'BYTES', data: [{ a: 1 }] });
    assert.deepEqual(toOutputTensor('p', []), { name: 'p', shape: [0], datatype: 'FP64', data: [] });
  });
});

describe('an envelope around a handler entry', () => {
  it('is none without service_envelope, and an error for an unknown one', () => {
    const entry: Entry = async (d) => d;
    assert.equal(withEnvelope(entry, null), entry);
    assert.equal(envelopeFor(' KServeV2 '), kservev2Envelope);
    assert.throws(() => envelopeFor('json'), /Unsupported service_envelope "json": ortserve has kserve, kservev2/);
  });

  it('joins the instances of a batch for the handler and splits its outputs per request', async () => {
    const ctx = context(3);
    const seen: unknown[] = [];
    const entry: Entry = async (data, c) => {
      seen.push(...data);
      // The handler addresses items: item 2 belongs to request 2 (request 1 was rejected).
      c.setResponseStatus(422, 'nope', 2);
      c.setResponseHeader(0, 'x-item', '0');
      return data.map((d) => (d as unknown as number) * 10);
    };
    const rows: RequestRow[] = [{ body: { instances: [1, 2] } }, { body: { wrong: true } }, { body: { instances: [3] } }];
    const out = await handleEnveloped(kserveEnvelope, entry, rows, ctx);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(out, [{ predictions: [10, 20] }, { code: 400, type: 'BadRequestException', message: 'Expected a JSON body {"instances": [...]}' }, { predictions: [30] }]);
    assert.deepEqual(ctx.responseSettings(), [
      { status: 200, phrase: '', contentType: null, headers: { 'x-item': '0' } },
      { status: 400, phrase: '', contentType: 'application/json', headers: {} },
      { status: 422, phrase: 'nope', contentType: null, headers: {} },
    ]);
    assert.deepEqual(ctx.requestIds, { 0: 'req-0', 1: 'req-1', 2: 'req-2' });
  });

  it('answers each v2 request with its own response', async () => {
    const ctx = context(2, true);
    const t = (d: number[]) => ({ name: 'x', shape: [d.length], datatype: 'FP32', data: d });
    const entry: Entry = async (data) => data.map((d) => (d as unknown as { data: number[] }).data.map((v) => v + 1));
    const out = await handleEnveloped(kservev2Envelope, entry, [{ body: { id: 'a', inputs: [t([1, 2])] } }, { body: bytes({ inputs: [t([5])] }) }], ctx);
    assert.deepEqual(out, [
      { id: 'a', model_name: 'm', model_version: '2.0', outputs: [{ name: 'x', shape: [2], datatype: 'INT64', data: [2, 3] }] },
      { id: 'req-1', model_name: 'm', model_version: '2.0', outputs: [{ name: 'x', shape: [1], datatype: 'INT64', data: [6] }] },
    ]);
  });

  it("leaves the handler's contract errors to the worker", async () => {
    const rows: RequestRow[] = [{ body: { instances: [1, 2] } }];
    assert.equal(await handleEnveloped(kserveEnvelope, async () => 'oops' as never, rows, context(1)), 'oops');
    // One output for two instances: the worker's "number of batch response mismatched".
    const out = await handleEnveloped(kserveEnvelope, async () => [1], rows, context(1));
    assert.ok(Array.isArray(out) && out.length === 2);
  });

  it('does not call the handler when every request is rejected', async () => {
    let called = false;
    const out = await handleEnveloped(kservev2Envelope, async () => ((called = true), []), [{ body: 'x' }], context(1));
    assert.equal(called, false);
    assert.deepEqual(out, [{ error: 'The request body is not valid JSON' }]);
  });
});
