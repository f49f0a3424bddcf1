/**
 * The gRPC APIs (spec §9) on a real server, called by a Node client built only from proto/*.proto.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import request from 'supertest';
import { writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bearer, collect, inferenceClient, managementClient, unary, unaryError, writeGrpcMar, type AnyClient } from './support.js';

const INVALID_TOKEN = 'Token Authorization failed. Token either incorrect, expired, or not provided correctly';

interface PredictionResponse {
  prediction: Buffer;
  sequence_id?: string;
  status?: { code: number; message: string; details: Array<{ type_url: string; value: Buffer }> } | null;
}

describe('gRPC APIs', () => {
  let s: TestServer;
  let inf: AnyClient;
  let mgmt: AnyClient;
  let infMd: Metadata;
  let mgmtMd: Metadata;

  before(async () => {
    s = await startTestServer();
    writeProbeMar(s.modelStore, { name: 'probe' });
    writeGrpcMar(s, 'gh');
    writeGrpcMar(s, 'reg', '1.0');
    writeGrpcMar(s, 'reg', '2.0');
    await s.register('url=probe.mar&initial_workers=1&synchronous=true');
    await s.register('url=gh.mar&initial_workers=1&synchronous=true');
    inf = inferenceClient(s);
    mgmt = managementClient(s);
    infMd = bearer(s, 'inference');
    mgmtMd = bearer(s, 'management');
  });
  after(async () => {
    inf?.close();
    mgmt?.close();
    await s?.stop();
  });

  it('binds both services on their own ports and reports them', () => {
    assert.match(s.grpcInferenceUrl!, /^127\.0\.0\.1:\d+$/);
    assert.match(s.grpcManagementUrl!, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(s.grpcInferenceUrl, s.grpcManagementUrl);
  });

  it('Ping answers the health as pretty JSON', async () => {
    const r = await unary<{ health: string }>(inf, 'Ping', {}, infMd);
    assert.equal(r.health, '{\n  "status": "Healthy"\n}');
  });

  it('Predictions gives each input entry to the handler as bytes, and returns its answer', async () => {
    const echo = await unary<PredictionResponse>(inf, 'Predictions', { model_name: 'probe', input: { body: Buffer.from('hello') } }, infMd);
    assert.equal(echo.prediction.toString('utf8'), 'hello');
    const two = await unary<PredictionResponse>(inf, 'Predictions', { model_name: 'gh', model_version: '1.0', input: { data: Buffer.from('hi'), extra: Buffer.from([0, 255]) } }, infMd);
    assert.equal(two.prediction.toString('utf8'), 'echo:hi|data:bytes,extra:bytes');
  });

  it('maps errors to gRPC status codes with the message and the Java class name', async () => {
    const unknown = await unaryError(inf, 'Predictions', { model_name: 'nope', input: { data: Buffer.from('x') } }, infMd);
    assert.equal(unknown.code, status.NOT_FOUND);
    assert.equal(unknown.details, 'Model not found: nope\norg.pytorch.serve.archive.model.ModelNotFoundException');
    const version = await unaryError(inf, 'Predictions', { model_name: 'gh', model_version: '9.9', input: {} }, infMd);
    assert.equal(version.code, status.NOT_FOUND);
    assert.equal(version.details, 'Model version: 9.9 does not exist for model: gh\norg.pytorch.serve.archive.model.ModelVersionNotFoundException');
    const noName = await unaryError(inf, 'Predictions', { input: {} }, infMd);
    assert.equal(noName.code, status.INTERNAL);
    assert.equal(noName.details, 'Parameter model_name is required.\nBadRequestException.()');
    const failed = await unaryError(inf, 'Predictions', { model_name: 'gh', input: { data: Buffer.from('throw') } }, infMd);
    assert.equal(failed.code, status.UNAVAILABLE);
    assert.equal(failed.details, 'Prediction failed\norg.pytorch.serve.http.InternalServerException');
  });

  it('rejects a missing or wrong token with PERMISSION_DENIED, on both services', async () => {
    for (const md of [new Metadata(), bearer(s, 'management'), (() => { const m = new Metadata(); m.set('authorization', 'Basic abc'); return m; })()]) {
      const e = await unaryError(inf, 'Ping', {}, md);
      assert.equal(e.code, status.PERMISSION_DENIED);
      assert.equal(e.details, INVALID_TOKEN);
    }
    const denied = await unaryError(inf, 'Predictions', { model_name: 'probe', input: { body: Buffer.from('x') } });
    assert.equal(denied.code, status.PERMISSION_DENIED);
    const stream = await collect<PredictionResponse>(inf.StreamPredictions!({ model_name: 'gh', input: { data: Buffer.from('stream:2') } }, new Metadata()) as never);
    assert.equal(stream.error?.code, status.PERMISSION_DENIED);
    assert.equal(stream.messages.length, 0);
    const m = await unaryError(mgmt, 'ListModels', {}, infMd);
    assert.equal(m.code, status.PERMISSION_DENIED);
    assert.equal(m.details, INVALID_TOKEN);
  });

  it('StreamPredictions sends each intermediate part, then the final answer', async () => {
    const r = await collect<PredictionResponse>(inf.StreamPredictions!({ model_name: 'gh', input: { data: Buffer.from('stream:3') } }, infMd) as never);
    assert.equal(r.error, null);
    assert.deepEqual(r.messages.map((m) => m.prediction.toString('utf8')), ['part0 ', 'part1 ', 'part2 ', 'done']);
    const plain = await collect<PredictionResponse>(inf.StreamPredictions!({ model_name: 'gh', input: { data: Buffer.from('x') } }, infMd) as never);
    assert.deepEqual(plain.messages.map((m) => m.prediction.toString('utf8')), ['echo:x|data:bytes']);
    const failed = await collect<PredictionResponse>(inf.StreamPredictions!({ model_name: 'nope', input: {} }, infMd) as never);
    assert.equal(failed.error?.code, status.NOT_FOUND);
  });

  it('StreamPredictions2 answers each request of the stream in order, with its sequence_id', async () => {
    const call = inf.StreamPredictions2!(infMd) as never as NodeJS.ReadWriteStream & { write(m: object): void; end(): void };
    const done = collect<PredictionResponse>(call as never);
    call.write({ model_name: 'gh', sequence_id: 's1', input: { data: Buffer.from('stream:2') } });
    call.write({ model_name: 'gh', sequence_id: 's1', input: { data: Buffer.from('b') } });
    call.write({ model_name: 'nope', sequence_id: 's1', input: {} });
    call.write({ model_name: 'gh', input: { data: Buffer.from('c') } });
    call.end();
    const r = await done;
    assert.equal(r.error, null);
    assert.deepEqual(
      r.messages.map((m) => [m.sequence_id, m.prediction.toString('utf8'), m.status?.code ?? null]),
      [
        ['s1', 'part0 ', null],
        ['s1', 'part1 ', null],
        ['s1', 'done', null],
        ['s1', 'echo:b|data:bytes', null],
        ['s1', '', status.NOT_FOUND],
        ['', '', status.INTERNAL],
      ],
    );
    assert.equal(r.messages[4]!.status!.message, 'Model not found: nope');
    // google.rpc.ErrorInfo{reason} packed in an Any.
    assert.equal(r.messages[4]!.status!.details[0]!.type_url, 'type.googleapis.com/google.rpc.ErrorInfo');
    assert.ok(r.messages[4]!.status!.details[0]!.value.toString('utf8').endsWith('org.pytorch.serve.archive.model.ModelNotFoundException'));
    assert.equal(r.messages[5]!.status!.message, 'Parameter sequenceId is required.');
  });

  it('registers, scales, describes, lists, sets the default and unregisters with REST’s messages', async () => {
    const reg = await unary<{ msg: string }>(mgmt, 'RegisterModel', { url: 'reg-1.0.mar', initial_workers: 1, synchronous: true }, mgmtMd);
    assert.equal(reg.msg, 'Model "reg" Version: 1.0 registered with 1 initial workers');
    const reg2 = await unary<{ msg: string }>(mgmt, 'RegisterModel', { url: 'reg-2.0.mar' }, mgmtMd);
    assert.equal(reg2.msg, 'Model "reg" Version: 2.0 registered with 0 initial workers. Use scale workers API to add workers for the model.');
    const dup = await unaryError(mgmt, 'RegisterModel', { url: 'reg-2.0.mar' }, mgmtMd);
    assert.equal(dup.code, status.ABORTED);
    assert.match(dup.details, /\norg\.pytorch\.serve\.http\.ConflictStatusException$/);
    const noUrl = await unaryError(mgmt, 'RegisterModel', {}, mgmtMd);
    assert.equal(noUrl.code, status.INVALID_ARGUMENT);
    assert.equal(noUrl.details, 'Parameter url is required.\norg.pytorch.serve.http.BadRequestException');

    const scaled = await unary<{ msg: string }>(mgmt, 'ScaleWorker', { model_name: 'reg', min_worker: 2, synchronous: true }, mgmtMd);
    assert.equal(scaled.msg, 'Workers scaled to 2 for model: reg');
    const asyncScale = await unary<{ msg: string }>(mgmt, 'ScaleWorker', { model_name: 'reg', model_version: '2.0' }, mgmtMd);
    assert.equal(asyncScale.msg, 'Processing worker updates...');

    const mauth = s.auth('management');
    const described = await unary<{ msg: string }>(mgmt, 'DescribeModel', { model_name: 'reg' }, mgmtMd);
    const rest = await request(s.managementUrl).get('/models/reg').set(mauth);
    assert.equal(`${described.msg}\n`, rest.text);
    assert.equal(JSON.parse(described.msg)[0].workers.length, 2);
    const all = await unary<{ msg: string }>(mgmt, 'DescribeModel', { model_name: 'reg', model_version: 'all' }, mgmtMd);
    assert.deepEqual(JSON.parse(all.msg).map((d: { modelVersion: string }) => d.modelVersion).sort(), ['1.0', '2.0']);

    const list = await unary<{ msg: string }>(mgmt, 'ListModels', {}, mgmtMd);
    assert.equal(`${list.msg}\n`, (await request(s.managementUrl).get('/models').set(mauth)).text);
    const page = JSON.parse((await unary<{ msg: string }>(mgmt, 'ListModels', { limit: 1, next_page_token: 1 }, mgmtMd)).msg);
    assert.deepEqual(page.models.map((m: { modelName: string }) => m.modelName), ['probe']);
    assert.equal(page.nextPageToken, '2');

    const def = await unary<{ msg: string }>(mgmt, 'SetDefault', { model_name: 'reg', model_version: '2.0' }, mgmtMd);
    assert.equal(def.msg, 'Default version successfully updated for model "reg" to "2.0"');
    const badDefault = await unaryError(mgmt, 'SetDefault', { model_name: 'reg', model_version: '7.0' }, mgmtMd);
    assert.equal(badDefault.code, status.NOT_FOUND);

    const gone = await unary<{ msg: string }>(mgmt, 'UnregisterModel', { model_name: 'reg', model_version: '1.0' }, mgmtMd);
    assert.equal(gone.msg, 'Model "reg" unregistered');
    await unary(mgmt, 'UnregisterModel', { model_name: 'reg' }, mgmtMd);
    const missing = await unaryError(mgmt, 'DescribeModel', { model_name: 'reg' }, mgmtMd);
    assert.equal(missing.code, status.NOT_FOUND);
    assert.equal(missing.details, 'Model not found: reg\norg.pytorch.serve.archive.model.ModelNotFoundException');
  });
});

describe('gRPC with the model API disabled, and without gRPC', () => {
  it('refuses RegisterModel and UnregisterModel with PERMISSION_DENIED, allows the rest', async (t) => {
    const s = await startTestServer({ properties: { enable_model_api: 'false' } });
    const mgmt = managementClient(s);
    t.after(async () => {
      mgmt.close();
      await s.stop();
    });
    const md = bearer(s, 'management');
    for (const [method, req] of [['RegisterModel', { url: 'x.mar' }], ['UnregisterModel', { model_name: 'x' }]] as const) {
      const e = await unaryError(mgmt, method, req, md);
      assert.equal(e.code, status.PERMISSION_DENIED);
      assert.equal(e.details, 'Model API disabled\norg.pytorch.serve.archive.model.ModelException');
    }
    assert.deepEqual(JSON.parse((await unary<{ msg: string }>(mgmt, 'ListModels', {}, md)).msg), { models: [] });
  });

  it('starts no gRPC server with enable_grpc=false, and no token needed with token auth disabled', async (t) => {
    const off = await startTestServer({ properties: { enable_grpc: 'false' } });
    t.after(() => off.stop());
    assert.equal(off.grpcInferenceUrl, null);
    assert.equal(off.grpcManagementUrl, null);
    const open = await startTestServer({ properties: { disable_token_authorization: 'true' } });
    const inf = inferenceClient(open);
    t.after(async () => {
      inf.close();
      await open.stop();
    });
    assert.equal((await unary<{ health: string }>(inf, 'Ping', {})).health, '{\n  "status": "Healthy"\n}');
  });
});
