/** `/ui` and `/ui/models` over HTTP: which listener serves them, which token they need, what they answer. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startTestServer, type TestServer } from '../support/server.js';
import { writeEventsMar } from './support.js';

const INVALID_TOKEN = {
  code: 400,
  type: 'InvalidKeyException',
  message: 'Token Authorization failed. Token either incorrect, expired, or not provided correctly',
};

function inlineHash(html: string, tag: 'script' | 'style'): string {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html);
  assert.ok(m, `the page has an inline <${tag}>`);
  return `'sha256-${createHash('sha256').update(m[1]!, 'utf8').digest('base64')}'`;
}

describe('/ui over HTTP', () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
    for (const v of ['1.0', '2.0', '10.0']) writeEventsMar(s.modelStore, 'events', v);
    writeEventsMar(s.modelStore, 'alpha');
    for (const file of ['events-1.0.mar', 'events-10.0.mar', 'events-2.0.mar', 'alpha-1.0.mar']) {
      await s.register(`url=${file}&initial_workers=0`);
    }
  });
  after(() => s.stop());

  it('serves the page without a token, as HTML with a strict Content-Security-Policy', async () => {
    const r = await request(s.inferenceUrl).get('/ui');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(r.text, /^<!doctype html>/);
    const csp = r.headers['content-security-policy'] as string;
    const directives = new Map(csp.split(/;\s*/).map((d) => [d.split(' ')[0]!, d.split(' ').slice(1).join(' ')]));
    assert.equal(directives.get('default-src'), "'none'");
    assert.equal(directives.get('connect-src'), "'self'");
    assert.equal(directives.get('frame-ancestors'), "'none'");
    // The hashes in the header are those of the inline script and style actually sent.
    assert.equal(directives.get('script-src'), inlineHash(r.text, 'script'));
    assert.equal(directives.get('style-src'), inlineHash(r.text, 'style'));
    assert.doesNotMatch(r.text, /\bsrc=|\bhref=|https?:\/\//, 'nothing is loaded from anywhere');
    assert.equal(r.headers['cache-control'], 'no-cache; no-store, must-revalidate, private');
  });

  it('answers HEAD /ui and /ui/ the same way', async () => {
    const head = await request(s.inferenceUrl).head('/ui');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await request(s.inferenceUrl).get('/ui/?x=1')).status, 200);
  });

  it('needs the inference key for /ui/models, as every inference call', async () => {
    const none = await request(s.inferenceUrl).get('/ui/models');
    assert.equal(none.status, 400);
    assert.deepEqual(none.body, INVALID_TOKEN);
    const wrong = await request(s.inferenceUrl).get('/ui/models').set('Authorization', 'Bearer wrong');
    assert.equal(wrong.status, 400);
    assert.deepEqual(wrong.body, INVALID_TOKEN);
    assert.equal((await request(s.inferenceUrl).get('/ui/models').set(s.auth('management'))).status, 400);
  });

  it('lists the registered models: names sorted, versions in numeric order, the default version', async () => {
    const r = await request(s.inferenceUrl).get('/ui/models').set(s.auth('inference'));
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(r.body, [
      { modelName: 'alpha', versions: ['1.0'], defaultVersion: '1.0' },
      { modelName: 'events', versions: ['1.0', '2.0', '10.0'], defaultVersion: '1.0' },
    ]);
    await request(s.managementUrl).put('/models/events/2.0/set-default').set(s.auth('management')).expect(200);
    const changed = await request(s.inferenceUrl).get('/ui/models').set(s.auth('inference'));
    assert.equal(changed.body[1].defaultVersion, '2.0');
  });

  it('sends other methods on /ui through the token check, then answers 405', async () => {
    assert.equal((await request(s.inferenceUrl).post('/ui')).status, 400);
    const post = await request(s.inferenceUrl).post('/ui').set(s.auth('inference'));
    assert.equal(post.status, 405);
    assert.equal(post.body.type, 'MethodNotAllowedException');
    assert.equal((await request(s.inferenceUrl).delete('/ui/models').set(s.auth('inference'))).status, 405);
  });

  it('is not served on the management listener', async () => {
    const page = await request(s.managementUrl).get('/ui').set(s.auth('management'));
    assert.equal(page.status, 404);
    assert.equal(page.body.type, 'ResourceNotFoundException');
    assert.equal((await request(s.managementUrl).get('/ui')).status, 400);
    assert.equal((await request(s.managementUrl).get('/ui/models').set(s.auth('management'))).status, 404);
  });
});

describe('/ui on other listener setups', () => {
  it('is served on a shared listener, where /ui/models needs the inference key', async () => {
    const s = await startTestServer({ sharedAddress: true });
    try {
      assert.equal(s.inferenceUrl, s.managementUrl);
      const page = await request(s.inferenceUrl).get('/ui');
      assert.equal(page.status, 200);
      assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
      const models = await request(s.inferenceUrl).get('/ui/models').set(s.auth('inference'));
      assert.equal(models.status, 200);
      assert.deepEqual(models.body, []);
      assert.equal((await request(s.inferenceUrl).get('/ui/models').set(s.auth('management'))).status, 400);
    } finally {
      await s.stop();
    }
  });

  it('lists the models without a token when token authorization is off', async () => {
    const s = await startTestServer({ properties: { disable_token_authorization: 'true' } });
    try {
      writeEventsMar(s.modelStore, 'events');
      await s.register('url=events-1.0.mar&initial_workers=0');
      const r = await request(s.inferenceUrl).get('/ui/models');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, [{ modelName: 'events', versions: ['1.0'], defaultVersion: '1.0' }]);
    } finally {
      await s.stop();
    }
  });
});
