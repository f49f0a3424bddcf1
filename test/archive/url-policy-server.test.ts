/**
 * The allowed_urls bypass of issue 13 through every door a real server has: the management API's query
 * string and JSON body, gRPC RegisterModel and `load_models` at startup, plus a bare path into a
 * look-alike sibling of the model store. The archive outside the allowed prefix is a real one whose
 * handler would run; the loopback model host logs every request, and none may leave the prefix.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { bearer, managementClient, unaryError, type AnyClient } from '../grpc/support.js';
import { writeProbeMar } from '../support/archives.js';
import { mostDecodedPath, startModelHost, type ModelHost } from '../support/model-host.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';

describe('allowed_urls on a running server', () => {
  let host: ModelHost;
  let s: TestServer;
  let mgmt: AnyClient;
  let archives = '';
  /** The issue's attack: the query string decodes `%252e%252e` once, to this. */
  let attack = '';

  before(async () => {
    archives = makeTempDir('ortserve-url-host-');
    const bytes = (name: string): Buffer => readFileSync(path.join(archives, writeProbeMar(archives, { name })));
    host = await startModelHost({ '/models/good.mar': bytes('good'), '/secret.mar': bytes('secret') });
    attack = `${host.base}/models/%2e%2e/secret.mar`;
    s = await startTestServer({
      properties: {
        allowed_urls: `http://127[.]0[.]0[.]1:${host.port}/models/.*`,
        load_models: attack,
      },
    });
    mgmt = managementClient(s);
  });
  after(async () => {
    mgmt?.close();
    await s?.stop();
    await host?.close();
  });

  const api = () => request(s.managementUrl);

  function assertNothingOutsideModels(): void {
    for (const req of host.requested) {
      assert.ok(mostDecodedPath(new URL(req).pathname).startsWith('/models/'), `the model host was asked for ${req}`);
    }
  }

  async function modelNames(): Promise<string[]> {
    const r = await api().get('/models').set(s.auth('management'));
    return (r.body.models as Array<{ modelName: string }>).map((m) => m.modelName);
  }

  it('did not load the attack from load_models at startup', async () => {
    assert.deepEqual(await modelNames(), []);
    assertNothingOutsideModels();
  });

  it('refuses the attack in the query string (double-encoded) and in a JSON body', async () => {
    const query = await api().post(`/models?url=${attack.replace(/%/g, '%25')}`).set(s.auth('management'));
    assert.equal(query.status, 404);
    assert.deepEqual(query.body, { code: 404, type: 'ModelNotFoundException', message: `Relative path is not allowed in url: ${attack}` });
    const body = await api().post('/models').set(s.auth('management')).send({ url: attack, initial_workers: 1 });
    assert.equal(body.status, 404);
    assert.equal(body.body.type, 'ModelNotFoundException');
    const backslash = await api().post('/models').set(s.auth('management')).send({ url: `${host.base}/models/%5csecret.mar` });
    assert.equal(backslash.status, 404);
    assert.deepEqual(await modelNames(), []);
    assertNothingOutsideModels();
  });

  it('refuses the attack through gRPC RegisterModel', async () => {
    const err = await unaryError(mgmt, 'RegisterModel', { url: attack, initial_workers: 1, synchronous: true }, bearer(s, 'management'));
    assert.match(err.details, /Relative path is not allowed in url/);
    assert.deepEqual(await modelNames(), []);
    assertNothingOutsideModels();
  });

  it('refuses a directory in a look-alike sibling of the model store', async () => {
    for (const sibling of [`${s.modelStore}-old`, `${s.modelStore}.bak`]) {
      mkdirSync(sibling, { recursive: true });
      const dir = writeProbeMar(sibling, { name: 'sibling', directory: true });
      const r = await api().post('/models').set(s.auth('management')).send({ url: path.join(sibling, dir) });
      assert.equal(r.status, 404, sibling);
      assert.equal(r.body.type, 'ModelNotFoundException');
    }
    assert.deepEqual(await modelNames(), []);
  });

  it('still registers an allowed URL and runs its handler (the control case)', async () => {
    const r = await api().post(`/models?url=${encodeURIComponent(`${host.base}/models/good.mar`)}&initial_workers=1&synchronous=true`).set(s.auth('management'));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const p = await s.predictJson('good', { hello: 'world' });
    assert.equal(p.status, 200);
    assert.deepEqual(await modelNames(), ['good']);
    assert.ok(host.requested.includes(`${host.base}/models/good.mar`));
    assertNothingOutsideModels();
  });
});
