import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('management API', () => {
  let s: TestServer;
  let auth: Record<string, string>;
  const mgmt = () => request(s.managementUrl);

  before(async () => {
    s = await startTestServer();
    auth = s.auth('management');
    for (const name of ['alpha', 'beta', 'gamma', 'delta']) writeProbeMar(s.modelStore, { name });
    writeProbeMar(s.modelStore, { name: 'multi', version: '1.0', fileName: 'multi-1.mar' });
    writeProbeMar(s.modelStore, { name: 'multi', version: '2.0', fileName: 'multi-2.mar' });
    writeProbeMar(s.modelStore, { name: 'broken', yaml: 'probe:\n  failLoad: true\n' });
    writeProbeMar(s.modelStore, { name: 'yamlcfg', yaml: 'minWorkers: 2\nmaxWorkers: 3\nbatchSize: 4\nmaxBatchDelay: 7\nresponseTimeout: 33\n' });
    writeProbeMar(s.modelStore, { name: 'dir', directory: true });
  });
  after(() => s.stop());

  it('registers from the query string with TorchServe success messages', async () => {
    const zero = await mgmt().post('/models?url=alpha.mar').set(auth);
    assert.equal(zero.status, 200);
    assert.equal(
      zero.text,
      '{\n  "status": "Model \\"alpha\\" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model."\n}\n',
    );
    const one = await mgmt().post('/models?url=beta.mar&initial_workers=1&batch_size=3&max_batch_delay=20').set(auth);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, { status: 'Model "beta" Version: 1.0 registered with 1 initial workers' });
    const d = (await mgmt().get('/models/beta').set(auth)).body[0];
    assert.equal(d.batchSize, 3);
    assert.equal(d.maxBatchDelay, 20);
    assert.equal(d.workers.length, 1);
    assert.equal(d.workers[0].status, 'READY');
  });

  it('registers from a JSON body, and asynchronously with 202', async () => {
    const r = await mgmt()
      .post('/models')
      .set(auth)
      .type('json')
      .send({ url: 'gamma.mar', model_name: 'gamma2', initial_workers: 1, synchronous: false });
    assert.equal(r.status, 202);
    assert.deepEqual(r.body, { status: 'Processing worker updates...' });
    assert.equal((await mgmt().get('/models/gamma2').set(auth)).body[0].modelName, 'gamma2');
  });

  it('registers a no-archive directory by name', async () => {
    const r = await mgmt().post('/models?url=dir&initial_workers=1').set(auth);
    assert.equal(r.status, 200);
    const p = await request(s.inferenceUrl).post('/predictions/dir').set(s.auth('inference')).type('text').send('x');
    assert.equal(p.status, 200);
    // A directory has no archive file to hash.
    assert.equal((await mgmt().get('/models/dir').set(auth)).body[0].archiveSha256, null);
  });

  it('rejects a missing url, duplicates, unknown archives, relative paths and URLs outside allowed_urls', async () => {
    const cases: Array<[string, number, string, string]> = [
      ['/models', 400, 'BadRequestException', 'Parameter url is required.'],
      ['/models?url=alpha.mar', 409, 'ConflictStatusException', 'Model version 1.0 is already registered for model alpha'],
      ['/models?url=nothing.mar', 404, 'ModelNotFoundException', 'Model not found at: nothing.mar'],
      ['/models?url=../x.mar', 404, 'ModelNotFoundException', 'Relative path is not allowed in url: ../x.mar'],
      [
        '/models?url=http://127.0.0.1:1/x.mar',
        404,
        'ModelNotFoundException',
        'Given URL http://127.0.0.1:1/x.mar does not match any allowed URL(s)',
      ],
      ['/models?url=delta.mar&runtime=java', 400, 'BadRequestException', 'Invalid RuntimeType value: java'],
    ];
    for (const [url, status, type, message] of cases) {
      const r = await mgmt().post(url).set(auth);
      assert.equal(r.status, status, url);
      assert.deepEqual(r.body, { code: status, type, message }, url);
    }
  });

  it('fails a synchronous register whose worker cannot load, unregisters it, and leaves nothing behind', async () => {
    const extracted = () => readdirSync(path.join(s.config.tempDir, 'ortserve-models')).length;
    const before = extracted();
    const r = await mgmt().post('/models?url=broken.mar&initial_workers=1').set(auth);
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, {
      code: 500,
      type: 'InternalServerException',
      // TorchServe's message, then the cause (TorchServe leaves it in the log only).
      message: 'Failed to start workers for model broken version: 1.0. Cause: load failed on purpose',
    });
    assert.equal((await mgmt().get('/models/broken').set(auth)).status, 404);
    assert.equal(extracted(), before);
  });

  it('takes workers, batching and timeouts from model-config.yaml', async () => {
    await mgmt().post('/models?url=yamlcfg.mar&response_timeout=5').set(auth).expect(200);
    const d = (await mgmt().get('/models/yamlcfg').set(auth)).body[0];
    assert.equal(d.minWorkers, 2);
    assert.equal(d.maxWorkers, 3);
    assert.equal(d.workers.length, 2);
    assert.equal(d.batchSize, 4);
    assert.equal(d.maxBatchDelay, 7);
    // A MAR with a config file: its responseTimeout wins over the register parameter (TorchServe's quirk).
    assert.equal(d.responseTimeout, 33);
    await mgmt().put('/models/yamlcfg?min_worker=0&synchronous=true').set(auth).expect(200);
  });

  it('describes with every TorchServe field, in order', async () => {
    const r = await mgmt().get('/models/beta').set(auth);
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body));
    assert.deepEqual(Object.keys(r.body[0]), [
      'modelName', 'modelVersion', 'modelUrl', 'runtime', 'minWorkers', 'maxWorkers', 'batchSize', 'maxBatchDelay',
      'responseTimeout', 'startupTimeout', 'maxRetryTimeoutInSec', 'clientTimeoutInMills', 'parallelType',
      'parallelLevel', 'deviceType', 'continuousBatching', 'useJobTicket', 'useVenv', 'stateful', 'sequenceMaxIdleMSec',
      'sequenceTimeoutMSec', 'maxNumSequence', 'maxSequenceJobQueueSize', 'loadedAtStartup', 'workers', 'jobQueueStatus',
      // ortserve's three fields follow TorchServe's, which keep their order (docs/compatibility.md).
      'operatingPoint', 'sharedWeights', 'archiveSha256',
    ]);
    // ortserve's extra field: the SHA-256 of the archive file the version was loaded from.
    const sha = createHash('sha256').update(readFileSync(path.join(s.modelStore, 'beta.mar'))).digest('hex');
    assert.equal(r.body[0].archiveSha256, sha);
    const w = r.body[0].workers[0];
    assert.deepEqual(Object.keys(w), ['id', 'startTime', 'status', 'memoryUsage', 'pid', 'gpu', 'gpuUsage']);
    assert.match(w.id, /^\d+$/);
    assert.match(w.startTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(r.body[0].jobQueueStatus, { remainingCapacity: 100, pendingRequests: 0 });
    const missing = await mgmt().get('/models/nope').set(auth);
    assert.deepEqual(missing.body, { code: 404, type: 'ModelNotFoundException', message: 'Model not found: nope' });
  });

  it('asks the handler for customized metadata, and 503s without workers', async () => {
    const r = await mgmt().get('/models/beta?customized=true').set(auth);
    assert.equal(r.status, 200);
    assert.ok('customizedMetadata' in r.body[0]);
    const idle = await mgmt().get('/models/alpha?customized=true').set(auth);
    assert.equal(idle.status, 503);
    assert.equal(
      idle.body.message,
      'Model "alpha" has no worker to serve describe request. Please use scale workers API to add workers.',
    );
  });

  it('handles versions: describe all, set-default, unregister rules', async () => {
    await mgmt().post('/models?url=multi-1.mar').set(auth).expect(200);
    await mgmt().post('/models?url=multi-2.mar').set(auth).expect(200);
    const all = (await mgmt().get('/models/multi/all').set(auth)).body.map((d: { modelVersion: string }) => d.modelVersion);
    assert.deepEqual(all.sort(), ['1.0', '2.0']);
    assert.equal((await mgmt().get('/models/multi').set(auth)).body[0].modelVersion, '1.0');
    const bad = await mgmt().put('/models/multi/9.0/set-default').set(auth);
    assert.deepEqual(bad.body, {
      code: 404,
      type: 'ModelVersionNotFoundException',
      message: 'Model version 9.0 does not exist for model multi',
    });
    const sd = await mgmt().put('/models/multi/2.0/set-default').set(auth);
    assert.deepEqual(sd.body, { status: 'Default version successfully updated for model "multi" to "2.0"' });
    assert.equal((await mgmt().get('/models/multi').set(auth)).body[0].modelVersion, '2.0');
    const forbidden = await mgmt().delete('/models/multi/2.0').set(auth);
    assert.equal(forbidden.status, 403);
    assert.deepEqual(forbidden.body, {
      code: 403,
      type: 'InvalidModelVersionException',
      message: 'Cannot remove default version for model multi',
    });
    const v = await mgmt().delete('/models/multi/7.0').set(auth);
    assert.equal(v.body.message, 'Model version: 7.0 does not exist for model: multi');
    await mgmt().delete('/models/multi/1.0').set(auth).expect(200);
    const last = await mgmt().delete('/models/multi').set(auth);
    assert.deepEqual(last.body, { status: 'Model "multi" unregistered' });
    assert.equal((await mgmt().delete('/models/multi').set(auth)).status, 404);
  });

  it('scales to exactly min_worker, synchronously or not', async () => {
    const sync = await mgmt().put('/models/alpha?min_worker=2&synchronous=true').set(auth);
    assert.deepEqual([sync.status, sync.body], [200, { status: 'Workers scaled to 2 for model: alpha' }]);
    assert.equal((await mgmt().get('/models/alpha').set(auth)).body[0].workers.length, 2);
    const ver = await mgmt().put('/models/alpha/1.0?min_worker=1&synchronous=true').set(auth);
    assert.deepEqual(ver.body, { status: 'Workers scaled to 1 for model: alpha, version: 1.0' });
    const async = await mgmt().put('/models/alpha?min_worker=0').set(auth);
    assert.deepEqual([async.status, async.body], [202, { status: 'Processing worker updates...' }]);
    const bad = await mgmt().put('/models/alpha?min_worker=3&max_worker=1').set(auth);
    assert.deepEqual(bad.body, { code: 400, type: 'BadRequestException', message: 'max_worker cannot be less than min_worker.' });
    assert.equal((await mgmt().put('/models/nope?min_worker=1').set(auth)).status, 404);
  });

  it('lists default versions sorted, with TorchServe paging', async () => {
    const all = await mgmt().get('/models').set(auth);
    const names = all.body.models.map((m: { modelName: string }) => m.modelName);
    assert.deepEqual(names, [...names].sort());
    assert.equal(all.body.nextPageToken, undefined);
    assert.deepEqual(all.body.models.find((m: { modelName: string }) => m.modelName === 'alpha'), {
      modelName: 'alpha',
      modelUrl: 'alpha.mar',
    });
    const p1 = await mgmt().get('/models?limit=2').set(auth);
    assert.equal(p1.body.nextPageToken, '2');
    assert.equal(p1.body.models.length, 2);
    const p2 = await mgmt().get(`/models?limit=2&next_page_token=2`).set(auth);
    assert.equal(p2.body.models[0].modelName, names[2]);
    // TorchServe sends a token even on the exact last page.
    const exact = await mgmt().get(`/models?limit=${names.length}`).set(auth);
    assert.equal(exact.body.nextPageToken, String(names.length));
  });

  it('answers KServe v1 readiness on GET /v1/models/{m} and 405 for other methods', async () => {
    assert.deepEqual((await mgmt().get('/v1/models/beta').set(auth)).body, { name: 'beta', ready: true });
    assert.deepEqual((await mgmt().get('/v1/models/alpha').set(auth)).body, { name: 'alpha', ready: false });
    assert.equal((await mgmt().post('/v1/models/beta').set(auth)).status, 405);
  });

  it('answers 405 for methods a route does not have, and the generic 404 elsewhere', async () => {
    const r = await mgmt().patch('/models').set(auth);
    assert.equal(r.status, 405);
    assert.equal(r.body.type, 'MethodNotAllowedException');
    assert.equal((await mgmt().get('/predictions/beta').set(auth)).status, 404);
    const doc = await mgmt().options('/');
    assert.ok(doc.body.paths['/models/{model_name}/{model_version}/set-default']);
  });

  it('deletes the extracted archive when a model is unregistered', async () => {
    const dirs = () => readdirSync(path.join(s.config.tempDir, 'ortserve-models'));
    await mgmt().post('/models?url=delta.mar').set(auth).expect(200);
    const before = dirs();
    await mgmt().delete('/models/delta').set(auth).expect(200);
    assert.equal(dirs().length, before.length - 1);
    assert.ok(existsSync(path.join(s.modelStore, 'delta.mar')), 'a model-store archive is never deleted');
  });
});

describe('management API with the model API disabled (the default)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ properties: { enable_model_api: 'false' } });
    writeProbeMar(s.modelStore, { name: 'm' });
  });
  after(() => s.stop());

  it('refuses register and unregister with 405 but allows list, describe and scale', async () => {
    const auth = s.auth('management');
    const r = await request(s.managementUrl).post('/models?url=m.mar').set(auth);
    assert.equal(r.status, 405);
    assert.deepEqual(r.body, {
      code: 405,
      type: 'MethodNotAllowedException',
      message: 'Requested method is not allowed, please refer to API document.',
    });
    assert.equal((await request(s.managementUrl).get('/models').set(auth)).status, 200);
    assert.equal((await request(s.managementUrl).delete('/models/m').set(auth)).status, 405);
  });
});
