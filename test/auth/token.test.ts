import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { binary, text } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

const INVALID = {
  code: 400,
  type: 'InvalidKeyException',
  message: 'Token Authorization failed. Token either incorrect, expired, or not provided correctly',
};

interface KeyFile {
  management: { key: string; 'expiration time': string };
  inference: { key: string; 'expiration time': string };
  API: { key: string };
}

describe('token authorization (on by default)', () => {
  let s: TestServer;
  const keyFile = (): KeyFile => JSON.parse(readFileSync(path.join(s.dir, 'key_file.json'), 'utf8')) as KeyFile;
  const bearer = (k: string) => ({ Authorization: `Bearer ${k}` });

  before(async () => {
    s = await startTestServer();
  });
  after(() => s.stop());

  it('writes key_file.json with mode 0600 and 8-character keys with expiry', () => {
    const st = statSync(path.join(s.dir, 'key_file.json'));
    assert.equal(st.mode & 0o777, 0o600);
    const k = keyFile();
    for (const key of [k.management.key, k.inference.key, k.API.key]) assert.match(key, /^[A-Za-z0-9_-]{8}$/);
    const expiry = Date.parse(k.inference['expiration time']);
    assert.ok(Math.abs(expiry - (Date.now() + 60 * 60_000)) < 60_000, 'expires in 60 minutes');
  });

  it('answers 400 InvalidKeyException without a token, with a wrong one, or with the other API key — even for unknown paths', async () => {
    const k = keyFile();
    const cases: Array<[string, string, Record<string, string>]> = [
      [s.inferenceUrl, '/ping', {}],
      [s.inferenceUrl, '/ping', bearer('wrongkey')],
      [s.inferenceUrl, '/ping', bearer(k.management.key)],
      [s.inferenceUrl, '/ping', { Authorization: `bearer ${k.inference.key}` }],
      [s.inferenceUrl, '/no/such/path', {}],
      [s.managementUrl, '/models', bearer(k.inference.key)],
    ];
    for (const [base, p, headers] of cases) {
      const r = await request(base).get(p).set(headers);
      assert.equal(r.status, 400, `${p} ${JSON.stringify(headers)}`);
      assert.deepEqual(r.body, INVALID);
    }
  });

  it('accepts the right key of each API, and needs none for the API description', async () => {
    const k = keyFile();
    assert.equal((await request(s.inferenceUrl).get('/ping').set(bearer(k.inference.key))).status, 200);
    assert.equal((await request(s.managementUrl).get('/models').set(bearer(k.management.key))).status, 200);
    assert.equal((await request(s.inferenceUrl).options('/')).status, 200);
    assert.equal((await request(s.managementUrl).get('/api-description')).status, 200);
  });

  it('rotates a key with the API key through /token, writing only key_file.json', async () => {
    const old = keyFile();
    const r = await binary(request(s.managementUrl).get('/token?type=inference').set(bearer(old.API.key)));
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(text(r.body), '\n');
    const now = keyFile();
    assert.notEqual(now.inference.key, old.inference.key);
    assert.equal(now.management.key, old.management.key);
    assert.equal((await request(s.inferenceUrl).get('/ping').set(bearer(old.inference.key))).status, 400);
    assert.equal((await request(s.inferenceUrl).get('/ping').set(bearer(now.inference.key))).status, 200);
    for (const [query, key] of [['?type=inference', old.management.key], ['?type=other', now.API.key], ['', now.API.key]]) {
      const bad = await request(s.managementUrl).get(`/token${query}`).set(bearer(key!));
      assert.equal(bad.status, 400);
      assert.equal(bad.body.message, 'Token Authentication failed. Token either incorrect, expired, or not provided correctly');
    }
  });
});

describe('token expiry and disabling', () => {
  it('expires keys after token_expiration_min', async () => {
    const s = await startTestServer({ properties: { token_expiration_min: '0.005' } });
    try {
      const auth = s.auth('inference');
      assert.equal((await request(s.inferenceUrl).get('/ping').set(auth)).status, 200);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await request(s.inferenceUrl).get('/ping').set(auth)).status, 400);
    } finally {
      await s.stop();
    }
  });

  it('needs no token with disable_token_authorization, and writes no key file', async () => {
    const s = await startTestServer({ properties: { disable_token_authorization: 'true' } });
    try {
      assert.equal((await request(s.inferenceUrl).get('/ping')).status, 200);
      assert.throws(() => statSync(path.join(s.dir, 'key_file.json')));
    } finally {
      await s.stop();
    }
  });

  it('checks the key of each API on a shared listener', async () => {
    const s = await startTestServer({ sharedAddress: true });
    try {
      assert.equal(s.inferenceUrl, s.managementUrl);
      assert.equal((await request(s.inferenceUrl).get('/ping').set(s.auth('inference'))).status, 200);
      assert.equal((await request(s.inferenceUrl).get('/models').set(s.auth('management'))).status, 200);
      assert.equal((await request(s.inferenceUrl).get('/models').set(s.auth('inference'))).status, 400);
    } finally {
      await s.stop();
    }
  });
});
