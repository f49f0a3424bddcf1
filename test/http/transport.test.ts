/**
 * Tokens and transport (issue 6): TLS listeners, CORS headers and preflights, slow clients (slowloris,
 * stalled bodies) and connection floods. Real servers on loopback, real sockets.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load-config.js';
import { writeProbeMar } from '../support/archives.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';
import { selfSignedCert, type SelfSigned } from '../support/tls.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with node:http or node:https (by the URL's scheme); `ca` is trusted for https. */
function call(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; ca?: Buffer } = {}): Promise<Answer> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.end(opts.body);
  });
}

/** A raw TCP connection to a listener URL, connected. */
function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with what the server wrote once it closed the socket; rejects if it is still open after `ms`. */
function closedByServer(s: net.Socket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    if (s.destroyed) {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    }
  });
}

describe('TLS listeners (certificate_file, private_key_file)', () => {
  let s: TestServer;
  let pem: SelfSigned;
  let auth: Record<string, string>;

  before(async () => {
    const dir = makeTempDir();
    pem = selfSignedCert(dir);
    s = await startTestServer({
      dir,
      properties: {
        inference_address: 'https://127.0.0.1:0',
        management_address: 'https://127.0.0.2:0',
        metrics_address: 'https://127.0.0.1:0',
        certificate_file: pem.certFile,
        private_key_file: pem.keyFile,
      },
    });
    auth = s.auth('inference');
    writeProbeMar(s.modelStore, { name: 'probe' });
    const r = await call(`${s.managementUrl}/models?url=probe.mar&initial_workers=1`, { method: 'POST', headers: s.auth('management'), ca: pem.cert });
    assert.equal(r.status, 200, r.body.toString());
  });
  after(async () => {
    await s.stop();
  });

  it('serves /ping, predictions, management and metrics over https to a client that trusts the certificate', async () => {
    assert.match(s.inferenceUrl, /^https:\/\//);
    const ping = await call(`${s.inferenceUrl}/ping`, { headers: auth, ca: pem.cert });
    assert.equal(ping.status, 200);
    assert.deepEqual(JSON.parse(ping.body.toString()), { status: 'Healthy' });
    const pred = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'PUT', headers: auth, body: 'over tls', ca: pem.cert });
    assert.equal(pred.status, 200);
    assert.equal(pred.body.toString(), 'over tls');
    const models = await call(`${s.managementUrl}/models`, { headers: s.auth('management'), ca: pem.cert });
    assert.equal(models.status, 200);
    assert.equal(JSON.parse(models.body.toString()).models[0].modelName, 'probe');
    assert.ok(s.metricsUrl?.startsWith('https://'));
    const metrics = await call(`${s.metricsUrl!}/metrics`, { ca: pem.cert });
    assert.equal(metrics.status, 200);
  });

  it('is refused by a client that does not trust the certificate', async () => {
    await assert.rejects(call(`${s.inferenceUrl}/ping`, { headers: auth }), /self[- ]signed|certificate/i);
  });

  it('drops a plain-http request to the https port without crashing, and keeps serving https', async () => {
    const plainUrl = s.inferenceUrl.replace(/^https:/, 'http:');
    const outcome = await call(`${plainUrl}/ping`, { headers: auth }).then(
      (r) => r.status,
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    assert.notEqual(outcome, 200);
    // A raw socket that sends garbage instead of a ClientHello is closed too.
    const sock = await connect(plainUrl);
    sock.write('GET /ping HTTP/1.1\r\nHost: x\r\n\r\n');
    await closedByServer(sock, 10_000);
    const ping = await call(`${s.inferenceUrl}/ping`, { headers: auth, ca: pem.cert });
    assert.equal(ping.status, 200);
  });
});

describe('TLS configuration errors', () => {
  it('refuses to start an https listener without private_key_file, naming the missing key', async () => {
    const dir = makeTempDir();
    const pem = selfSignedCert(dir);
    await assert.rejects(
      startTestServer({ dir, properties: { inference_address: 'https://127.0.0.1:0', certificate_file: pem.certFile } }),
      (err: unknown) => err instanceof ConfigError && /https:\/\/127\.0\.0\.1:0.*private_key_file/.test(err.message) && !/certificate_file and/.test(err.message),
    );
  });

  it('refuses an unreadable key file and a key that does not match the certificate, as ConfigError', async () => {
    const dir = makeTempDir();
    const pem = selfSignedCert(dir);
    const other = selfSignedCert(makeTempDir());
    await assert.rejects(
      startTestServer({ dir, properties: { inference_address: 'https://127.0.0.1:0', certificate_file: pem.certFile, private_key_file: path.join(dir, 'nope.pem') } }),
      (err: unknown) => err instanceof ConfigError && /Cannot read private_key_file .*nope\.pem/.test(err.message),
    );
    await assert.rejects(
      startTestServer({ dir, properties: { inference_address: 'https://127.0.0.1:0', certificate_file: pem.certFile, private_key_file: other.keyFile } }),
      (err: unknown) => err instanceof ConfigError && /Cannot use certificate_file/.test(err.message),
    );
  });

  it('points keystore users to certificate_file/private_key_file, in the startup error and in warnings', async () => {
    const dir = makeTempDir();
    await assert.rejects(
      startTestServer({ dir, properties: { inference_address: 'https://127.0.0.1:0', keystore: 'src/test/resources/keystore.p12', keystore_pass: 'changeit' } }),
      (err: unknown) =>
        err instanceof ConfigError && /certificate_file and private_key_file/.test(err.message) && /Java keystore/.test(err.message),
    );
    const file = path.join(dir, 'ks.properties');
    writeFileSync(file, 'keystore=ks.p12\nkeystore_pass=changeit\nkeystore_type=PKCS12\n');
    const config = loadConfig({ tsConfig: file }, {}, dir);
    for (const key of ['keystore', 'keystore_pass', 'keystore_type']) {
      const w = config.warnings.find((x) => x.startsWith(`${key} `));
      assert.ok(w, `a warning for ${key}`);
      assert.match(w, /certificate_file and private_key_file/);
    }
  });
});

describe('CORS', () => {
  const CORS = {
    cors_allowed_origin: 'https://app.example.com',
    cors_allowed_methods: 'GET, POST, PUT, OPTIONS',
    cors_allowed_headers: 'Authorization, Content-Type',
  };
  const preflight = { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' };

  describe('with cors_allowed_origin/methods/headers', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ properties: CORS });
      writeProbeMar(s.modelStore, { name: 'probe' });
      await s.register('url=probe.mar&initial_workers=1');
    });
    after(() => s.stop());

    const assertCors = (r: Answer, what: string): void => {
      assert.equal(r.headers['access-control-allow-origin'], CORS.cors_allowed_origin, what);
      assert.equal(r.headers['access-control-allow-methods'], CORS.cors_allowed_methods, what);
      assert.equal(r.headers['access-control-allow-headers'], CORS.cors_allowed_headers, what);
    };

    it('puts the three headers on successes, errors, token failures and predictions, on both APIs', async () => {
      const inf = s.auth('inference');
      assertCors(await call(`${s.inferenceUrl}/ping`, { headers: inf }), 'ping');
      assertCors(await call(`${s.inferenceUrl}/ping`), 'token failure');
      assertCors(await call(`${s.inferenceUrl}/no/such/route`, { headers: inf }), '404');
      assertCors(await call(`${s.inferenceUrl}/predictions/probe`, { method: 'POST', headers: inf, body: 'x' }), 'prediction');
      assertCors(await call(`${s.managementUrl}/models`, { headers: s.auth('management') }), 'management');
    });

    it("leaves a handler's own Access-Control-Allow-Origin alone", async () => {
      const r = await call(`${s.inferenceUrl}/predictions/probe`, {
        method: 'POST',
        headers: { ...s.auth('inference'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ action: 'status', status: 200, header: ['Access-Control-Allow-Origin', 'https://other.example.com'] }),
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], 'https://other.example.com');
      assert.equal(r.headers['access-control-allow-methods'], CORS.cors_allowed_methods);
    });

    it('answers a preflight 200 with the CORS headers and no body, without a token and without running a route', async () => {
      for (const [base, p] of [
        [s.inferenceUrl, '/predictions/probe'],
        [s.inferenceUrl, '/v1/models/probe:predict'],
        [s.inferenceUrl, '/v2/models/probe/infer'],
        [s.managementUrl, '/models'],
      ] as const) {
        const r = await call(`${base}${p}`, { method: 'OPTIONS', headers: preflight });
        assert.equal(r.status, 200, p);
        assert.equal(r.body.length, 0, p);
        assertCors(r, p);
        assert.ok(r.headers['x-request-id'], p);
      }
      // The probe counts the requests it handled: the preflight to :predict ran no prediction.
      const after = await call(`${s.inferenceUrl}/predictions/probe`, {
        method: 'POST',
        headers: { ...s.auth('inference'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ action: 'info' }),
      });
      const handledBefore = JSON.parse(after.body.toString()).handled as number;
      await call(`${s.inferenceUrl}/v1/models/probe:predict`, { method: 'OPTIONS', headers: preflight });
      const again = await call(`${s.inferenceUrl}/predictions/probe`, {
        method: 'POST',
        headers: { ...s.auth('inference'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ action: 'info' }),
      });
      assert.equal(JSON.parse(again.body.toString()).handled, handledBefore + 1);
    });

    it('keeps TorchServe OPTIONS answers that are not preflights: API description, model OpenAPI doc with a token', async () => {
      const root = await call(`${s.inferenceUrl}/`, { method: 'OPTIONS' });
      assert.equal(root.status, 200);
      assert.equal(JSON.parse(root.body.toString()).openapi, '3.0.1');
      const model = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'OPTIONS', headers: s.auth('inference') });
      assert.equal(model.status, 200);
      assert.ok(JSON.parse(model.body.toString()).openapi);
      const noToken = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'OPTIONS', headers: { Origin: 'https://app.example.com' } });
      assert.equal(noToken.status, 400);
    });
  });

  describe('without the keys', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer();
    });
    after(() => s.stop());

    it('sends no Access-Control-* header, and a preflight goes down the chain as in TorchServe (400 without a token)', async () => {
      for (const r of [await call(`${s.inferenceUrl}/ping`, { headers: s.auth('inference') }), await call(`${s.inferenceUrl}/ping`)]) {
        assert.equal(Object.keys(r.headers).filter((h) => h.startsWith('access-control-')).length, 0);
      }
      const pre = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'OPTIONS', headers: preflight });
      assert.equal(pre.status, 400);
      assert.equal(JSON.parse(pre.body.toString()).type, 'InvalidKeyException');
    });
  });
});

describe('slow clients (headers_timeout_ms, request_timeout_ms)', () => {
  let s: TestServer;
  let auth: Record<string, string>;
  // Long enough that the requests made while the slow sockets are open finish well before the cut-off.
  const HEADERS_MS = 3000;
  const REQUEST_MS = 4000;

  before(async () => {
    s = await startTestServer({ properties: { headers_timeout_ms: String(HEADERS_MS), request_timeout_ms: String(REQUEST_MS) } });
    auth = s.auth('inference');
    writeProbeMar(s.modelStore, { name: 'probe' });
    await s.register('url=probe.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('keeps answering while 50 slowloris sockets dribble headers, and closes them with 408 after headers_timeout_ms', async () => {
    const head = `GET /ping HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth['Authorization']}\r\nX-Slow: ${'s'.repeat(200)}\r\n`;
    const sockets = await Promise.all(Array.from({ length: 50 }, () => connect(s.inferenceUrl)));
    const closed = sockets.map((sock) => closedByServer(sock, HEADERS_MS + 15_000));
    let i = 0;
    // One byte per socket every 250 ms: the header section would take over a minute to arrive.
    const drip = setInterval(() => {
      for (const sock of sockets) if (!sock.destroyed) sock.write(head[i % head.length]!);
      i++;
    }, 250);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const ping = await call(`${s.inferenceUrl}/ping`, { headers: auth });
      assert.equal(ping.status, 200);
      const pred = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'PUT', headers: auth, body: 'not blocked' });
      assert.equal(pred.body.toString(), 'not blocked');
      assert.ok(sockets.every((sock) => !sock.destroyed), 'the slow sockets were still open while others were served');
      const written = await Promise.all(closed);
      for (const w of written) {
        assert.match(w, /^HTTP\/1\.1 408 /);
        assert.equal(JSON.parse(w.slice(w.indexOf('\r\n\r\n') + 4)).type, 'RequestTimeoutException');
      }
    } finally {
      clearInterval(drip);
      for (const sock of sockets) sock.destroy();
    }
  });

  it('closes a connection that never sends a byte after headers_timeout_ms', async () => {
    const sock = await connect(s.inferenceUrl);
    const written = await closedByServer(sock, HEADERS_MS + 15_000);
    assert.match(written, /^HTTP\/1\.1 408 /);
  });

  it('closes a client that stops mid-body after request_timeout_ms, and serves others meanwhile', async () => {
    const sock = await connect(s.inferenceUrl);
    const closed = closedByServer(sock, REQUEST_MS + 15_000);
    sock.write(`PUT /predictions/probe HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth['Authorization']}\r\nContent-Length: 1000\r\n\r\nonly the first bytes`);
    const ping = await call(`${s.inferenceUrl}/ping`, { headers: auth });
    assert.equal(ping.status, 200);
    assert.ok(!sock.destroyed);
    const written = await closed;
    assert.match(written, /^HTTP\/1\.1 408 /);
    const after = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'PUT', headers: auth, body: 'still serving' });
    assert.equal(after.body.toString(), 'still serving');
  });
});

describe('connection timeout keys', () => {
  const load = (text: string) => {
    const dir = makeTempDir();
    const file = path.join(dir, 'config.properties');
    writeFileSync(file, text);
    return loadConfig({ tsConfig: file }, {}, dir);
  };

  it('default to 30 s for headers, 120 s for a whole request, 65 s for idle keep-alive connections', () => {
    const c = load('');
    assert.deepEqual([c.headersTimeoutMs, c.requestTimeoutMs, c.keepAliveTimeoutMs], [30_000, 120_000, 65_000]);
    const set = load('headers_timeout_ms=0\nrequest_timeout_ms=0\nkeep_alive_timeout_ms=100\n');
    assert.deepEqual([set.headersTimeoutMs, set.requestTimeoutMs, set.keepAliveTimeoutMs], [0, 0, 100]);
  });

  it('refuse negative values, headers longer than the request, and CORS values that cannot be header values', () => {
    assert.throws(() => load('keep_alive_timeout_ms=-1\n'), (e: unknown) => e instanceof ConfigError && /keep_alive_timeout_ms/.test(e.message));
    assert.throws(() => load('headers_timeout_ms=5000\nrequest_timeout_ms=1000\n'), (e: unknown) => e instanceof ConfigError && /must not exceed request_timeout_ms/.test(e.message));
    assert.throws(() => load('cors_allowed_origin=a\\u0007b\n'), (e: unknown) => e instanceof ConfigError && /cors_allowed_origin/.test(e.message));
  });
});

describe('connection flood', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.stop());

  it('answers a normal request while 500 idle TCP connections are open', async () => {
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 500; i += 50) sockets.push(...(await Promise.all(Array.from({ length: 50 }, () => connect(s.inferenceUrl)))));
      const ping = await call(`${s.inferenceUrl}/ping`, { headers: s.auth('inference') });
      assert.equal(ping.status, 200);
      assert.equal(sockets.filter((x) => !x.destroyed).length, 500, 'the idle connections are still open (default headers_timeout_ms)');
    } finally {
      for (const sock of sockets) sock.destroy();
    }
    const again = await call(`${s.inferenceUrl}/ping`, { headers: s.auth('inference') });
    assert.equal(again.status, 200);
  });
});
