/**
 * KServe v2 / Open Inference Protocol over gRPC (`GRPCInferenceService` of proto/open_inference_grpc.proto)
 * on a real server, called by a client built only from that .proto file: every RPC, the bundled taxonomy
 * model on BYTES tensors (expected labels from a direct ONNX Runtime run, test/conformance/reference.ts),
 * TorchServe's pass-through to a handler, raw_input_contents, errors, validation attacks and the token.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { referenceLabels } from '../conformance/reference.js';
import { writeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bearer, oipClient, unary, unaryError, type AnyClient } from './support.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TAXONOMY_MAR = path.join(REPO, 'model-store', 'taxonomy.mar');
const INPUTS = path.join(REPO, 'test', 'conformance', 'inputs');

/**
 * Without an envelope the handler gets TorchServe's JSON body `{"id", "model_name", "inputs"}` (parsed,
 * as application/json) and answers each input back as `echo_<name>`, so the test sees what it was given.
 * An input named `throw` fails the batch; `plain` answers text that is not an OIP response. FP16, which
 * InferTensorContents cannot carry, is answered as FP32.
 */
const ECHO_HANDLER = `
import type { Context, RequestRow } from 'ortserve';
export async function handle(data: RequestRow[] | null, ctx: Context): Promise<unknown[] | void> {
  if (data === null) return;
  return data.map((row) => {
    const req = row.body as { id?: string; model_name: string; inputs: Array<{ name: string; shape: number[]; datatype: string; data: unknown[] }> };
    if (req.inputs[0]!.name === 'throw') throw new Error('failed on purpose');
    if (req.inputs[0]!.name === 'plain') return 'not an OIP response';
    const outputs = req.inputs.map((i) => ({ name: 'echo_' + i.name, shape: i.shape, datatype: i.datatype === 'FP16' ? 'FP32' : i.datatype, data: i.data }));
    return { id: req.id ?? '(no id)', model_name: req.model_name, model_version: ctx.modelVersion, outputs };
  });
}
`;

/** Under the kservev2 envelope: the first input tensor comes in; BYTES data is returned, numbers doubled. */
const ENVELOPE_HANDLER = `
import type { Context, RequestRow } from 'ortserve';
export async function handle(data: RequestRow[] | null, ctx: Context): Promise<unknown[] | void> {
  if (data === null) return;
  return data.map((t) => {
    const tensor = t as unknown as { datatype: string; data: unknown };
    return tensor.datatype === 'BYTES' ? tensor.data : (tensor.data as number[]).map((x) => x * 2);
  });
}
`;

interface Contents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}
interface OutputTensor {
  name: string;
  datatype: string;
  shape: string[];
  contents: Contents;
}
interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutputTensor[];
  raw_output_contents: Buffer[];
}

/** raw_input_contents for BYTES: each element after its 4-byte little-endian length. */
function rawBytes(elements: Buffer[]): Buffer {
  return Buffer.concat(
    elements.flatMap((e) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(e.length);
      return [len, e];
    }),
  );
}

function tensor(name: string, datatype: string, shape: number[], contents?: Partial<Contents>): object {
  return { name, datatype, shape, ...(contents ? { contents } : {}) };
}

describe('KServe v2 gRPC (GRPCInferenceService)', () => {
  let s: TestServer;
  let oip: AnyClient;
  let md: Metadata;
  let texts: string[];
  let expected: string[];

  const infer = (req: object): Promise<InferResponse> => unary<InferResponse>(oip, 'ModelInfer', req, md);
  const inferError = (req: object): Promise<ServiceError> => unaryError(oip, 'ModelInfer', req, md);
  const echo = (...inputs: object[]): object => ({ model_name: 'echo', inputs });

  before(async () => {
    // Below grpc-js's own 4 MiB default, so that the attack below meets ortserve's limit, not the library's.
    s = await startTestServer({ properties: { max_request_size: '1000000' } });
    copyFileSync(TAXONOMY_MAR, path.join(s.modelStore, 'taxonomy.mar'));
    await s.register('url=taxonomy.mar&initial_workers=1&synchronous=true&batch_size=4&max_batch_delay=20');
    for (const version of ['1.0', '2.0']) {
      writeMar(s.modelStore, { name: 'echo', version, fileName: `echo-${version}.mar`, handler: 'echo.ts', files: { 'echo.ts': ECHO_HANDLER } });
    }
    await s.register('url=echo-1.0.mar&initial_workers=1&synchronous=true');
    await s.register('url=echo-2.0.mar&initial_workers=0&synchronous=true');
    oip = oipClient(s);
    md = bearer(s, 'inference');
    // The independent answer: the archive's tokenizer and model.onnx run directly with onnxruntime.
    const files = readdirSync(INPUTS).filter((f) => f.endsWith('.txt')).sort();
    texts = files.map((f) => readFileSync(path.join(INPUTS, f), 'utf8').trim());
    const labels = await referenceLabels(INPUTS, TAXONOMY_MAR);
    expected = files.map((f) => labels.get(f)!);
    assert.ok(new Set(expected).size >= 2, `the inputs must get different labels: ${expected}`);
  });
  after(async () => {
    oip?.close();
    await s?.stop();
  });

  it('ServerLive, ServerReady and ServerMetadata', async () => {
    assert.deepEqual(await unary(oip, 'ServerLive', {}, md), { live: true });
    assert.deepEqual(await unary(oip, 'ServerReady', {}, md), { ready: true });
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(await unary(oip, 'ServerMetadata', {}, md), { name: 'ortserve', version: pkg.version, extensions: [] });
  });

  it('ModelReady: true with a ready worker, false without, NOT_FOUND for an unknown model or version', async () => {
    assert.deepEqual(await unary(oip, 'ModelReady', { name: 'taxonomy' }, md), { ready: true });
    assert.deepEqual(await unary(oip, 'ModelReady', { name: 'echo', version: '1.0' }, md), { ready: true });
    assert.deepEqual(await unary(oip, 'ModelReady', { name: 'echo', version: '2.0' }, md), { ready: false });
    const unknown = await unaryError(oip, 'ModelReady', { name: 'nope' }, md);
    assert.equal(unknown.code, status.NOT_FOUND);
    assert.equal(unknown.details, 'Model not found: nope\norg.pytorch.serve.archive.model.ModelNotFoundException');
    const version = await unaryError(oip, 'ModelReady', { name: 'echo', version: '9.9' }, md);
    assert.equal(version.code, status.NOT_FOUND);
    assert.equal(version.details, 'Model version: 9.9 does not exist for model: echo\norg.pytorch.serve.archive.model.ModelVersionNotFoundException');
    const noName = await unaryError(oip, 'ModelReady', {}, md);
    assert.equal(noName.code, status.INTERNAL);
    assert.equal(noName.details, 'Parameter name is required.\nBadRequestException.()');
  });

  it('ModelMetadata: name, every version, the text_classifier tensors; NOT_FOUND and a missing name as TorchServe', async () => {
    assert.deepEqual(await unary(oip, 'ModelMetadata', { name: 'taxonomy' }, md), {
      name: 'taxonomy',
      versions: ['1.0'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'text', datatype: 'BYTES', shape: ['-1'] }],
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: ['-1'] },
        { name: 'score', datatype: 'FP32', shape: ['-1'] },
      ],
    });
    const other = await unary<{ versions: string[]; inputs: unknown[] }>(oip, 'ModelMetadata', { name: 'echo', version: '2.0' }, md);
    assert.deepEqual([...other.versions].sort(), ['1.0', '2.0']);
    assert.deepEqual(other.inputs, []);
    assert.equal((await unaryError(oip, 'ModelMetadata', { name: 'nope' }, md)).code, status.NOT_FOUND);
    const noName = await unaryError(oip, 'ModelMetadata', { version: '1.0' }, md);
    assert.equal(noName.code, status.INTERNAL);
    assert.equal(noName.details, 'Parameter model_name is required.\nBadRequestException.()');
  });

  it('ModelInfer labels a BYTES tensor of texts with the taxonomy model as ONNX Runtime does, id echoed', async () => {
    const r = await infer({
      model_name: 'taxonomy',
      id: 'req-7',
      inputs: [tensor('text', 'BYTES', [texts.length], { bytes_contents: texts.map((t) => Buffer.from(t)) })],
    });
    assert.equal(r.id, 'req-7');
    assert.equal(r.model_name, 'taxonomy');
    assert.equal(r.model_version, '1.0');
    assert.deepEqual(r.outputs.map((o) => [o.name, o.datatype, o.shape]), [
      ['label', 'BYTES', [String(texts.length)]],
      ['score', 'FP32', [String(texts.length)]],
    ]);
    assert.deepEqual(r.outputs[0]!.contents.bytes_contents.map((b) => b.toString('utf8')), expected);
    for (const p of r.outputs[1]!.contents.fp32_contents) assert.ok(p > 0 && p <= 1, String(p));
  });

  it('ModelInfer reads raw_input_contents (length-prefixed BYTES) and answers only the outputs asked for', async () => {
    const r = await infer({
      model_name: 'taxonomy',
      model_version: '1.0',
      inputs: [tensor('text', 'BYTES', [texts.length])],
      outputs: [{ name: 'label' }],
      raw_input_contents: [rawBytes(texts.map((t) => Buffer.from(t)))],
    });
    assert.deepEqual(r.outputs.map((o) => o.name), ['label']);
    assert.deepEqual(r.outputs[0]!.contents.bytes_contents.map((b) => b.toString('utf8')), expected);
    // No id given: a fresh request id, as TorchServe's envelope answers.
    assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('passes TorchServe\'s JSON body to another handler: contents per datatype, BYTES as base64, the answer as contents', async () => {
    const r = await infer({
      model_name: 'echo',
      id: 'abc',
      inputs: [
        tensor('f', 'FP32', [2, 2], { fp32_contents: [0.5, -1.25, 3, 4] }),
        tensor('i', 'INT64', [3], { int64_contents: ['-9007199254740991', '0', '42'] }),
        tensor('u8', 'UINT8', [2], { uint_contents: [0, 255] }),
        tensor('b', 'BOOL', [2], { bool_contents: [true, false] }),
        tensor('s', 'BYTES', [2], { bytes_contents: [Buffer.from('héllo'), Buffer.from([0, 255, 1])] }),
      ],
    });
    assert.equal(r.id, 'abc');
    assert.equal(r.model_name, 'echo');
    assert.equal(r.model_version, '1.0');
    const by = Object.fromEntries(r.outputs.map((o) => [o.name, o]));
    assert.deepEqual(Object.keys(by), ['echo_f', 'echo_i', 'echo_u8', 'echo_b', 'echo_s']);
    assert.deepEqual(by['echo_f']!.shape, ['2', '2']);
    assert.deepEqual(by['echo_f']!.contents.fp32_contents, [0.5, -1.25, 3, 4]);
    assert.deepEqual(by['echo_i']!.contents.int64_contents, ['-9007199254740991', '0', '42']);
    assert.deepEqual(by['echo_u8']!.contents.uint_contents, [0, 255]);
    assert.deepEqual(by['echo_b']!.contents.bool_contents, [true, false]);
    assert.deepEqual(by['echo_s']!.contents.bytes_contents.map((b) => b.toString('utf8')), [Buffer.from('héllo').toString('base64'), Buffer.from([0, 255, 1]).toString('base64')]);
  });

  it('decodes raw_input_contents little-endian for every fixed-size datatype', async () => {
    const i32 = Buffer.alloc(12);
    [-7, 0, 2147483647].forEach((v, k) => i32.writeInt32LE(v, k * 4));
    const f64 = Buffer.alloc(16);
    [Math.PI, -0.5].forEach((v, k) => f64.writeDoubleLE(v, k * 8));
    const half = Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x35]); // 1, -2, 0.3125 as IEEE half
    const u64 = Buffer.alloc(8);
    u64.writeBigUInt64LE(123456789012345n);
    const r = await infer({
      ...echo(tensor('i', 'INT32', [3]), tensor('d', 'FP64', [2]), tensor('h', 'FP16', [3]), tensor('u', 'UINT64', [1]), tensor('b', 'BOOL', [3])),
      raw_input_contents: [i32, f64, half, u64, Buffer.from([1, 0, 1])],
    });
    const by = Object.fromEntries(r.outputs.map((o) => [o.name, o.contents]));
    assert.deepEqual(by['echo_i']!.int_contents, [-7, 0, 2147483647]);
    assert.deepEqual(by['echo_d']!.fp64_contents, [Math.PI, -0.5]);
    assert.deepEqual(by['echo_u']!.uint64_contents, ['123456789012345']);
    assert.deepEqual(by['echo_b']!.bool_contents, [true, false, true]);
    assert.deepEqual(by['echo_h']!.fp32_contents, [1, -2, 0.3125]);
  });

  it('errors: unknown model NOT_FOUND, missing model_name INTERNAL, handler failure as Predictions, a non-OIP answer INTERNAL', async () => {
    const unknown = await inferError({ model_name: 'nope', inputs: [tensor('x', 'FP32', [1], { fp32_contents: [1] })] });
    assert.equal(unknown.code, status.NOT_FOUND);
    assert.equal(unknown.details, 'Model not found: nope\norg.pytorch.serve.archive.model.ModelNotFoundException');
    const noName = await inferError({ inputs: [] });
    assert.equal(noName.code, status.INTERNAL);
    assert.equal(noName.details, 'Parameter model_name is required.\nBadRequestException.()');
    const failed = await inferError(echo(tensor('throw', 'FP32', [1], { fp32_contents: [1] })));
    assert.equal(failed.code, status.UNAVAILABLE);
    assert.equal(failed.details, 'Prediction failed\norg.pytorch.serve.http.InternalServerException');
    const plain = await inferError(echo(tensor('plain', 'FP32', [1], { fp32_contents: [1] })));
    assert.equal(plain.code, status.INTERNAL);
    assert.match(plain.details, /did not answer JSON/);
    const noWorker = await inferError({ model_name: 'echo', model_version: '2.0', inputs: [tensor('x', 'FP32', [1], { fp32_contents: [1] })] });
    assert.equal(noWorker.code, status.UNAVAILABLE);
  });

  describe('validation at the boundary: INVALID_ARGUMENT with a clear message, and the server goes on', () => {
    const cases: Array<[string, object, RegExp]> = [
      ['shape larger than the data', echo(tensor('x', 'FP32', [3], { fp32_contents: [1, 2] })), /shape \[3\] \(3 elements\) but 2 data elements/],
      ['shape smaller than the data', { model_name: 'taxonomy', inputs: [tensor('text', 'BYTES', [1], { bytes_contents: [Buffer.from('a'), Buffer.from('b')] })] }, /shape \[1\] \(1 elements\) but 2 data elements/],
      ['an unknown datatype', echo(tensor('x', 'FP8', [1], { fp32_contents: [1] })), /unsupported datatype "FP8"/],
      ['elements in another datatype\'s field', echo(tensor('x', 'INT32', [1], { fp32_contents: [1] })), /is INT32 but carries fp32_contents \(INT32 elements go in int_contents\)/],
      ['a value out of its datatype\'s range', echo(tensor('x', 'INT8', [1], { int_contents: [300] })), /element 0 is not a valid INT8 value: 300/],
      ['a 64-bit value JavaScript cannot hold exactly', echo(tensor('x', 'INT64', [1], { int64_contents: ['9007199254740993'] })), /not a valid INT64 value: "9007199254740993"/],
      ['a negative dimension', echo(tensor('x', 'FP32', [-2], { fp32_contents: [] })), /non-negative integers/],
      ['a dimension beyond 2^53', echo({ name: 'x', datatype: 'FP32', shape: ['9223372036854775807'], contents: { fp32_contents: [1] } }), /shape dimension out of range: 9223372036854775807/],
      ['no inputs', { model_name: 'echo', inputs: [] }, /non-empty "inputs"/],
      ['an input without a name', echo(tensor('', 'FP32', [1], { fp32_contents: [1] })), /Input 0 has no "name"/],
      ['raw contents that do not split into elements', { ...echo(tensor('x', 'FP32', [1])), raw_input_contents: [Buffer.alloc(6)] }, /6 bytes, not a whole number of FP32 elements/],
      ['raw contents of the wrong size for the shape', { ...echo(tensor('x', 'FP32', [4])), raw_input_contents: [Buffer.alloc(8)] }, /shape \[4\] \(4 elements\) but 2 data elements/],
      ['fewer raw contents than inputs', { ...echo(tensor('x', 'FP32', [1]), tensor('y', 'FP32', [1])), raw_input_contents: [Buffer.alloc(4)] }, /1 entries for 2 inputs/],
      ['raw contents and contents together', { ...echo(tensor('x', 'FP32', [1], { fp32_contents: [1] })), raw_input_contents: [Buffer.alloc(4)] }, /has contents while raw_input_contents is used/],
      ['a BYTES length past the end', { ...echo(tensor('x', 'BYTES', [1])), raw_input_contents: [Buffer.from([0xff, 0xff, 0xff, 0x7f, 0x41])] }, /claims 2147483647 bytes, only 1 remain/],
      ['a BYTES length cut short', { ...echo(tensor('x', 'BYTES', [1])), raw_input_contents: [Buffer.from([1, 0, 0, 0, 0x41, 2, 0])] }, /ends inside the length of element 1/],
      ['a BOOL byte other than 0 or 1', { ...echo(tensor('x', 'BOOL', [1])), raw_input_contents: [Buffer.from([7])] }, /not a valid BOOL byte \(0 or 1\): 7/],
      ['a NaN', { ...echo(tensor('x', 'FP16', [1])), raw_input_contents: [Buffer.from([0x01, 0x7e])] }, /not a valid FP16 value/],
      ['text that is not UTF-8', { model_name: 'taxonomy', inputs: [tensor('text', 'BYTES', [1], { bytes_contents: [Buffer.from([0xc3, 0x28])] })] }, /element 0 is not valid UTF-8 text/],
      ['a non-BYTES input to the text classifier', { model_name: 'taxonomy', inputs: [tensor('text', 'FP32', [1], { fp32_contents: [1] })] }, /takes one BYTES input tensor of texts/],
      ['an output the text classifier does not have', { model_name: 'taxonomy', inputs: [tensor('text', 'BYTES', [1], { bytes_contents: [Buffer.from('a')] })], outputs: [{ name: 'logits' }] }, /Unknown output "logits"/],
      ['a model name over 256 characters', { model_name: 'm'.repeat(257), inputs: [] }, /Model name is 257 characters long; at most 256/],
    ];
    for (const [what, req, message] of cases) {
      it(what, async () => {
        const err = await inferError(req);
        assert.equal(err.code, status.INVALID_ARGUMENT, `${err.code} ${err.details}`);
        assert.match(err.details, message);
        assert.match(err.details, /\norg\.pytorch\.serve\.http\.BadRequestException$/);
      });
    }

    it('a message over max_request_size is refused by the transport', async () => {
      const err = await inferError({ model_name: 'taxonomy', inputs: [tensor('text', 'BYTES', [1], { bytes_contents: [Buffer.alloc(s.config.maxRequestSize + 1, 0x61)] })] });
      assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    });

    it('every model is still registered and answers afterwards', async () => {
      const r = await infer({ model_name: 'taxonomy', inputs: [tensor('text', 'BYTES', [1], { bytes_contents: [Buffer.from(texts[0]!)] })] });
      assert.deepEqual(r.outputs[0]!.contents.bytes_contents.map((b) => b.toString('utf8')), [expected[0]]);
      assert.deepEqual(await unary(oip, 'ModelReady', { name: 'echo', version: '1.0' }, md), { ready: true });
    });
  });

  it('every RPC needs the inference token (PERMISSION_DENIED without it, or with the management key)', async () => {
    for (const method of ['ServerLive', 'ServerReady', 'ServerMetadata', 'ModelReady', 'ModelMetadata', 'ModelInfer']) {
      for (const wrong of [new Metadata(), bearer(s, 'management')]) {
        const err = await unaryError(oip, method, { name: 'taxonomy', model_name: 'taxonomy' }, wrong);
        assert.equal(err.code, status.PERMISSION_DENIED, method);
        assert.equal(err.details, 'Token Authorization failed. Token either incorrect, expired, or not provided correctly', method);
      }
    }
  });
});

describe('KServe v2 gRPC with service_envelope=kservev2 (TorchServe\'s set-up)', () => {
  let s: TestServer;
  let oip: AnyClient;
  let md: Metadata;

  before(async () => {
    s = await startTestServer({ properties: { service_envelope: 'kservev2' } });
    writeMar(s.modelStore, { name: 'env', handler: 'env.ts', files: { 'env.ts': ENVELOPE_HANDLER } });
    await s.register('url=env.mar&initial_workers=1&synchronous=true');
    oip = oipClient(s);
    md = bearer(s, 'inference');
  });
  after(async () => {
    oip?.close();
    await s?.stop();
  });

  it('names each output after its input, echoes the id, and hands BYTES over base64-encoded', async () => {
    const nums = await unary<InferResponse>(oip, 'ModelInfer', { model_name: 'env', id: 'n1', inputs: [tensor('input-0', 'FP64', [2], { fp64_contents: [1.5, 2.25] })] }, md);
    assert.equal(nums.id, 'n1');
    assert.deepEqual(nums.outputs.map((o) => [o.name, o.datatype, o.shape, o.contents.fp64_contents]), [['input-0', 'FP64', ['2'], [3, 4.5]]]);
    const text = await unary<InferResponse>(oip, 'ModelInfer', { model_name: 'env', inputs: [tensor('words', 'BYTES', [1], { bytes_contents: [Buffer.from('hi there')] })] }, md);
    assert.deepEqual(text.outputs.map((o) => [o.name, o.datatype, o.contents.bytes_contents.map((b) => b.toString('utf8'))]), [['words', 'BYTES', [Buffer.from('hi there').toString('base64')]]]);
    // A blank id: the envelope answers with the request id.
    assert.match(text.id, /^[0-9a-f-]{36}$/);
  });
});
