/**
 * Registration as TorchServe's own management suite (pytorch/serve test/postman/management_data.json)
 * expects it: a handler is loaded when workers start, not when the model registers; startup_timeout=0
 * means zero seconds; `url=` (present, empty) is a model-store lookup while a missing url is a bad request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeMar, writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('registration with TorchServe semantics', () => {
  let s: TestServer;
  let auth: Record<string, string>;
  const mgmt = () => request(s.managementUrl);

  before(async () => {
    s = await startTestServer();
    auth = s.auth('management');
    writeProbeMar(s.modelStore, { name: 'probe' });
    writeMar(s.modelStore, { name: 'pyhandler', handler: 'handler.py', files: { 'handler.py': 'def handle(data, context):\n    return data\n' } });
  });
  after(() => s.stop());

  // TorchServe's message, then the cause ortserve adds so that a client need not read the server log.
  for (const [label, query, name, cause] of [
    ['an unknown handler name', 'url=probe.mar&model_name=unknownh&handler=invalidHandler', 'unknownh', 'Handler not found: invalidHandler.'],
    ['a Python handler', 'url=pyhandler.mar', 'pyhandler', 'Python handlers are not supported by ortserve: handler.py.'],
  ] as const) {
    it(`registers ${label} with 0 workers; scaling it up fails with TorchServe's 500 and keeps the model`, async () => {
      const r = await mgmt().post(`/models?${query}`).set(auth);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.status, `Model "${name}" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.`);
      const up = await mgmt().put(`/models/${name}?min_worker=1&synchronous=true`).set(auth);
      assert.equal(up.status, 500, up.text);
      assert.equal(up.body.code, 500);
      assert.equal(up.body.type, 'InternalServerException');
      assert.ok(up.body.message.startsWith(`Failed to start workers for model ${name} version: null. Cause: ${cause}`), up.body.message);
      const async = await mgmt().put(`/models/${name}?min_worker=1`).set(auth);
      assert.equal(async.status, 202, async.text);
      const d = await mgmt().get(`/models/${name}`).set(auth);
      assert.equal(d.status, 200);
      assert.deepEqual(d.body[0].workers, []);
      assert.equal((await mgmt().delete(`/models/${name}`).set(auth)).status, 200);
    });
  }

  it('fails a registration with workers and an unusable handler with 500, and does not keep the model', async () => {
    const r = await mgmt().post('/models?url=probe.mar&model_name=badh&handler=invalidHandler&initial_workers=1&synchronous=true').set(auth);
    assert.equal(r.status, 500, r.text);
    assert.equal(r.body.type, 'InternalServerException');
    assert.ok(r.body.message.startsWith('Failed to start workers for model badh version: 1.0. Cause: Handler not found: invalidHandler.'), r.body.message);
    assert.equal((await mgmt().get('/models/badh').set(auth)).status, 404);
  });

  it('takes startup_timeout=0 as zero seconds: workers cannot start in time', async () => {
    const r = await mgmt().post('/models?url=probe.mar&model_name=zerostart&initial_workers=1&startup_timeout=0').set(auth);
    assert.equal(r.status, 500, r.text);
    assert.equal(r.body.message, 'Failed to start workers for model zerostart version: 1.0. Cause: Worker load timed out');
    const zero = await mgmt().post('/models?url=probe.mar&model_name=zerostart&startup_timeout=0').set(auth);
    assert.equal(zero.status, 200, zero.text);
    assert.equal((await mgmt().get('/models/zerostart').set(auth)).body[0].startupTimeout, 0);
    assert.equal((await mgmt().delete('/models/zerostart').set(auth)).status, 200);
  });

  it('looks an empty url up in the model store (404) and refuses a missing one (400)', async () => {
    const empty = await mgmt().post('/models?url=&model_name=x').set(auth);
    assert.deepEqual(empty.body, { code: 404, type: 'ModelNotFoundException', message: 'empty url' });
    assert.equal(empty.status, 404);
    const missing = await mgmt().post('/models?model_name=x').set(auth);
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body, { code: 400, type: 'BadRequestException', message: 'Parameter url is required.' });
  });
});
