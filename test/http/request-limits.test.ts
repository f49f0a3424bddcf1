/**
 * Request defenses (issue 6): max_request_size on every route that reads a body, oversized request lines
 * and headers, malformed HTTP, bad and deeply nested JSON. Each case is followed by a normal request, to
 * show the server kept serving.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface RawAnswer {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (rather than the test giving up). */
  closedByServer: boolean;
}

/**
 * Writes `data` on a fresh connection and reads what comes back until the server closes it or `waitMs`
 * passes. The client keeps reading after an error, so an answer sent before a reset is not lost.
 */
function raw(url: string, data: string | Buffer, waitMs = 10_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const socket = net.connect(Number(port), hostname, () => socket.write(data));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('end', () => (closedByServer = true));
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('close', (hadError) => {
      clearTimeout(timer);
      closedByServer ||= hadError;
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const c = l.indexOf(':');
        if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: split < 0 ? '' : text.slice(split + 4), closedByServer });
    });
  });
}

/** One request with node:http; the body is bytes as given. */
function call(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer from ${url} within 20 s`)));
    req.end(opts.body);
  });
}

/** TorchServe's error body: `{"code", "type", "message"}` with the status as code. */
function assertErrorShape(status: number, body: string | Buffer, what: string): { code: number; type: string; message: string } {
  const e = JSON.parse(body.toString()) as { code: number; type: string; message: string };
  assert.deepEqual(Object.keys(e), ['code', 'type', 'message'], what);
  assert.equal(e.code, status, what);
  assert.equal(typeof e.type, 'string', what);
  return e;
}

describe('request limits', () => {
  let s: TestServer;
  let inf: Record<string, string>;
  let mgmt: Record<string, string>;

  before(async () => {
    // Default max_request_size (6553500 bytes) and default timeouts.
    s = await startTestServer();
    inf = s.auth('inference');
    mgmt = s.auth('management');
    writeProbeMar(s.modelStore, { name: 'probe' });
    await s.register('url=probe.mar&initial_workers=1');
  });
  after(() => s.stop());

  const ping = async (): Promise<void> => {
    const r = await call(`${s.inferenceUrl}/ping`, { headers: inf });
    assert.equal(r.status, 200, 'the server still answers /ping');
  };

  it('answers 413 with an empty body and closes the connection on every route that takes a body, without waiting for it', async () => {
    const routes: Array<[string, string, string, Record<string, string>]> = [
      [s.inferenceUrl, 'PUT', '/predictions/probe', inf],
      [s.inferenceUrl, 'POST', '/predictions/probe/1.0', inf],
      [s.inferenceUrl, 'POST', '/explanations/probe', inf],
      [s.inferenceUrl, 'POST', '/v1/models/probe:predict', inf],
      [s.inferenceUrl, 'POST', '/v1/models/probe:explain', inf],
      [s.inferenceUrl, 'POST', '/v2/models/probe/infer', inf],
      [s.inferenceUrl, 'POST', '/v2/models/probe/explain', inf],
      [s.managementUrl, 'POST', '/models', mgmt],
      [s.managementUrl, 'PUT', '/models/probe?min_worker=1', mgmt],
      // The limit applies before the token check, as Netty's aggregator runs before TorchServe's handlers.
      [s.inferenceUrl, 'POST', '/predictions/probe', {}],
    ];
    for (const [base, method, p, auth] of routes) {
      const authLine = auth['Authorization'] ? `Authorization: ${auth['Authorization']}\r\n` : '';
      // Only the headers: the declared length alone must get the 413 (no 9 MB is ever sent).
      const head = `${method} ${p} HTTP/1.1\r\nHost: x\r\n${authLine}Content-Type: application/json\r\nContent-Length: 9000000\r\nConnection: keep-alive\r\n\r\n`;
      const r = await raw(base, head);
      assert.equal(r.status, 413, `${method} ${p}`);
      assert.equal(r.body, '', `${method} ${p}`);
      assert.equal(r.headers['connection'], 'close', `${method} ${p}`);
      assert.ok(r.closedByServer, `${method} ${p}: the server closed the connection`);
    }
    await ping();
  });

  it('accepts a 6 MB JSON body within max_request_size', async () => {
    const body = JSON.stringify({ action: 'status', status: 200, pad: 'x'.repeat(6_000_000) });
    assert.ok(body.length < 6553500);
    const r = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'POST', headers: { ...inf, 'Content-Type': 'application/json' }, body });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { status: 200 });
  });

  it('answers 431 in the error shape for a 100 KB URL and for a 20 KB header, and keeps serving', async () => {
    for (const [what, head] of [
      ['100 KB URL', `GET /predictions/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['20 KB header', `GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`],
    ] as const) {
      const r = await raw(s.inferenceUrl, head);
      assert.equal(r.status, 431, what);
      assert.equal(r.headers['connection'], 'close', what);
      assert.ok(r.headers['x-request-id'], what);
      assert.equal(assertErrorShape(431, r.body, what).type, 'RequestHeaderFieldsTooLargeException');
      assert.ok(r.closedByServer, what);
    }
    // The same through a real HTTP client, which must see the answer, not a reset.
    const r = await call(`${s.inferenceUrl}/predictions/${'a'.repeat(100_000)}`, { headers: inf });
    assert.equal(r.status, 431);
    await ping();
  });

  it('serves an HTTP/1.1 request without a Host header, as TorchServe (Netty) does', async () => {
    const auth = Object.entries(inf).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const r = await raw(s.inferenceUrl, `GET /ping HTTP/1.1\r\n${auth}Connection: close\r\n\r\n`);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { status: 'Healthy' });
  });

  it("answers malformed HTTP with TorchServe's 400 \"Invalid HTTP message.\"", async () => {
    for (const head of ['GET /ping HTTP/1.1\r\nHost x\r\n\r\n', 'NOT HTTP AT ALL\r\n\r\n', 'POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n']) {
      const r = await raw(s.inferenceUrl, head);
      assert.equal(r.status, 400, JSON.stringify(head));
      assert.deepEqual(JSON.parse(r.body), { code: 400, type: 'BadRequestException', message: 'Invalid HTTP message.' });
      assert.ok(r.closedByServer);
    }
    await ping();
  });

  it('passes a JSON body that is not UTF-8 to the handler as bytes (TorchServe), and answers 400 on management', async () => {
    const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x22, 0x7d]);
    for (const p of ['/predictions/probe', '/v2/models/probe/infer']) {
      const r = await call(`${s.inferenceUrl}${p}`, { method: 'POST', headers: { ...inf, 'Content-Type': 'application/json' }, body: bad });
      assert.equal(r.status, 200, p);
      assert.deepEqual(r.body, bad, `${p}: the probe echoes the raw bytes it was given`);
    }
    const reg = await call(`${s.managementUrl}/models`, { method: 'POST', headers: { ...mgmt, 'Content-Type': 'application/json' }, body: bad });
    assert.ok(reg.status >= 400 && reg.status < 500, `register: ${reg.status}`);
    assertErrorShape(reg.status, reg.body, 'register');
    await ping();
  });

  it('survives JSON nested 100 000 levels deep: an error in the error shape, never a crash', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const unbalanced = '['.repeat(100_000);
    const deepObject = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    for (const body of [deep, unbalanced, deepObject]) {
      const r = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'POST', headers: { ...inf, 'Content-Type': 'application/json' }, body });
      // Parsed JSON reaches the probe, whose echo cannot serialise it: 503 "Unsupported model output data
      // type."; JSON that does not parse reaches it as bytes and is echoed.
      if (r.status !== 200) assertErrorShape(r.status, r.body, body.slice(0, 5));
      else assert.equal(r.body.toString(), body, 'unparsable JSON reaches the handler as bytes and is echoed');
      const reg = await call(`${s.managementUrl}/models`, { method: 'POST', headers: { ...mgmt, 'Content-Type': 'application/json' }, body });
      assert.ok(reg.status >= 400 && reg.status < 500, `register ${body.slice(0, 5)}: ${reg.status}`);
      assertErrorShape(reg.status, reg.body, `register ${body.slice(0, 5)}`);
    }
    await ping();
    const pred = await call(`${s.inferenceUrl}/predictions/probe`, { method: 'PUT', headers: inf, body: 'alive' });
    assert.equal(pred.body.toString(), 'alive', 'the worker still serves');
  });
});
