/**
 * End-to-end fuzzing of a real server: a few hundred generated requests (paths, methods, headers,
 * query strings, bodies of every kind, well- and ill-formed) against both listeners, then raw-socket
 * requests that break HTTP itself. Every answer has a status below 600; every 4xx/5xx the server's
 * routes produce is TorchServe's JSON error `{code, type, message}` with `code` equal to the status,
 * and none is a 500 (an exception ortserve did not expect);
 * and afterwards the server still answers /ping and still serves predictions.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { params, trapUnhandled } from './support.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on a fresh connection; null when the server closed it without answering. */
function send(base: string, method: string, path: string, headers: Record<string, string>, body: Buffer | null): Promise<Answer | null> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', () => resolve(null));
    });
    // The server may answer and close (errors carry Connection: close) before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => (['ECONNRESET', 'EPIPE', 'ECONNREFUSED'].includes(err.code ?? '') ? resolve(null) : reject(err)));
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    if (body !== null) req.write(body);
    req.end();
  });
}

/** Raw bytes on a socket: what the server wrote before it closed, or before `ms`. */
function rawExchange(base: string, bytes: Buffer, ms = 1500): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    setTimeout(() => socket.destroy(), ms).unref();
  });
}

/**
 * The Open Inference Protocol's routes (`/v2`, `/v2/health/…`, `/v2/models/{m}[/versions/{v}][/ready|/infer]`)
 * answer errors as the protocol says, `{"error": message}`, once the token check has passed.
 */
const OIP_ROUTE = /^\/v2(\/health\/(live|ready)|\/models\/[^/?]+(\/versions\/[^/?]+)?(\/ready|\/infer)?)?(\?|$)/;

function assertOipErrorShape(a: Answer, what: string): void {
  const doc = JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), ['error'], `${what}: ${a.body.toString('utf8')}`);
  assert.equal(typeof doc['error'], 'string');
  assert.match(String(a.headers['content-type']), /^application\/json/);
}

/** TorchServe's error body, as every error of the route chain is sent. */
function assertErrorShape(a: Answer, what: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(a.body.toString('utf8'));
  } catch {
    assert.fail(`${what}: ${a.status} with a body that is not JSON: ${JSON.stringify(a.body.toString('utf8').slice(0, 200))}`);
  }
  const e = doc as { code?: unknown; type?: unknown; message?: unknown };
  assert.equal(e.code, a.status, `${what}: code ${String(e.code)} for status ${a.status}`);
  assert.ok(typeof e.type === 'string' && /^[A-Za-z]+Exception$/.test(e.type), `${what}: type ${String(e.type)}`);
  assert.equal(typeof e.message, 'string', `${what}: message`);
  assert.match(String(a.headers['content-type']), /^application\/json/);
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'type']);
}

const SEGMENTS = [
  'predictions', 'explanations', 'models', 'probe', 'missing', 'ping', 'api-description', 'v1', 'v2', 'infer', 'explain',
  'probe:predict', 'probe:explain', 'x:predict', '1.0', '2.0', 'all', 'set-default', 'token', 'ui', 'metrics', '%zz', '%2F',
  '%00', '..', '.', '', '%C3%A9', 'a%20b',
];
const segment = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...SEGMENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map(encodeURIComponent) });
const pathArb = fc.oneof(
  fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join('/')}`),
  fc.constantFrom('/predictions/probe', '/predictions/probe/1.0', '/models', '/models/probe', '/models/probe/all', '/v2/models/probe/infer', '/v1/models/probe:predict', '/ping', '/models/probe/1.0/set-default'),
);

/** Worker counts are kept small: the point is the parsing, not scaling a real model to 2^31 workers. */
const queryValue = fc.oneof(
  fc.constantFrom('-1', '0', '1', 'abc', '', '99999999999', '1.5', 'true', 'FALSE', '%zz', '%', '+', 'probe', '1.0', 'all', '7'),
  fc.string({ maxLength: 8 }),
);
/** Worker counts above 1 become 1: a scale request must not start dozens of worker threads. */
function smallCount(key: string, value: string): string {
  return /worker/.test(key) && Number.parseInt(value.trim(), 10) > 1 ? '1' : value;
}
const URLS = ['nope.mar', 'zz-missing.tar.gz', 'http://127.0.0.1:1/x.mar', 'https://example.invalid/m.mar', 'file:///nonexistent/x.mar', '/nonexistent/abs.mar', 's3://b/k', '%zz', '../nope.mar', 'zz-dir/'];
const QUERY_KEYS = ['url', 'model_name', 'handler', 'runtime', 'batch_size', 'max_batch_delay', 'initial_workers', 'synchronous', 'response_timeout', 'min_worker', 'max_worker', 'model_version', 'customized', 'limit', 'next_page_token', 'type', 'x'];
const queryArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValue), { maxLength: 6 })
      .chain((pairs) => fc.constantFrom(...URLS).map((url) => pairs.map(([k, v]): [string, string] => [k, k === 'url' ? url : smallCount(k, v)])))
      .map((pairs) => `?${new URLSearchParams(pairs).toString()}`),
  },
  { weight: 1, arbitrary: fc.array(fc.constantFrom('&', '=', '%', '%2', 'url', 'min_worker=1', '+', ';', 'a', '%zz'), { maxLength: 8 }).map((p) => `?${p.join('')}`) },
);

const boundary = 'fuzzB0undary';
interface BodyCase {
  contentType?: string;
  body: Buffer | null;
  chunked: boolean;
}
const part = fc.record({
  name: fc.constantFrom('data', 'body', 'file', '', 'é'),
  filename: fc.option(fc.constantFrom('a.txt', 'b.bin', ''), { nil: undefined }),
  data: fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)),
});
/** Multipart bodies: whole, cut at a random point, or cut inside the last part (no closing boundary). */
const multipartBody = fc
  .tuple(fc.array(part, { minLength: 1, maxLength: 3 }), fc.constantFrom('whole', 'whole', 'random', 'in-last-part'), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([parts, cut, at]) => {
    const chunks: Buffer[] = [];
    for (const p of parts) {
      const file = p.filename === undefined ? '' : `; filename="${p.filename}"`;
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${file}\r\n\r\n`), p.data, Buffer.from('\r\n'));
    }
    const open = Buffer.concat(chunks);
    if (cut === 'in-last-part') return open.subarray(0, open.length - 2);
    const whole = Buffer.concat([open, Buffer.from(`--${boundary}--\r\n`)]);
    return cut === 'random' ? whole.subarray(0, Math.floor(whole.length * at)) : whole;
  });
const bodyArb: fc.Arbitrary<BodyCase> = fc.oneof(
  fc.constant<BodyCase>({ body: null, chunked: false }),
  fc.record({ contentType: fc.constantFrom(undefined, 'application/octet-stream', 'text/plain', 'application/json', 'image/png'), body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), chunked: fc.boolean() }),
  fc.record({
    contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
    body: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    chunked: fc.boolean(),
  }),
  fc.record({
    contentType: fc.constantFrom(`multipart/form-data; boundary=${boundary}`, 'multipart/form-data', 'multipart/form-data; boundary=other', `multipart/form-data; boundary=${boundary}; charset=bogus`),
    body: multipartBody,
    chunked: fc.boolean(),
  }),
  fc.record({
    contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=bogus', 'application/x-www-form-urlencoded; charset=utf-16le'),
    body: fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })), { maxLength: 4 }).map((kv) => Buffer.from(new URLSearchParams(kv).toString())),
    chunked: fc.boolean(),
  }),
);

/**
 * Half the requests are anything; the other half are predictions with the right key, so that the
 * generated bodies reach the request decoder (busboy, the handler) rather than stopping at the token check.
 */
const requestArb = fc.oneof(
  fc.record({
    listener: fc.constantFrom('inference', 'management'),
    method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD', 'FOO'),
    path: pathArb,
    query: queryArb,
    auth: fc.constantFrom('inference', 'management', 'garbage', 'none', 'right-kind', 'right-kind'),
    body: bodyArb,
  }),
  fc.record({
    listener: fc.constant('inference'),
    method: fc.constantFrom('POST', 'PUT', 'GET'),
    path: fc.constantFrom('/predictions/probe', '/predictions/probe/1.0', '/explanations/probe', '/v2/models/probe/infer', '/v1/models/probe:predict', '/predictions/probe/1.0/extra/path'),
    query: queryArb,
    auth: fc.constant('right-kind'),
    body: bodyArb,
  }),
);

describe('fuzz: a real server under generated requests', () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
    writeProbeMar(s.modelStore, { name: 'probe' });
    await s.register('url=probe.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('answers every generated request with a status < 600 and TorchServe\'s JSON error shape (400 requests)', async () => {
    const trap = trapUnhandled();
    const statuses = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(
          requestArb,
          async ({ listener, method, path: rawPath, query, auth, body: b }) => {
            // Keep the model the requests talk to: DELETE would unregister it.
            const path = method === 'DELETE' ? rawPath.replace(/\/probe\b/g, '/probe2') : rawPath;
            // The generated bodies never ask the probe handler for one of its actions (sleep, exit …).
            if (b.body !== null && b.body.includes('action')) return;
            const base = listener === 'inference' ? s.inferenceUrl : s.managementUrl;
            const headers: Record<string, string> = {};
            const kind = auth === 'right-kind' ? listener : auth;
            if (kind === 'inference' || kind === 'management') Object.assign(headers, s.auth(kind));
            else if (kind === 'garbage') headers['Authorization'] = 'Bearer 0000';
            if (b.contentType !== undefined) headers['Content-Type'] = b.contentType;
            if (b.body !== null) {
              if (b.chunked) headers['Transfer-Encoding'] = 'chunked';
              else headers['Content-Length'] = String(b.body.length);
            }
            const what = `${method} ${listener} ${path}${query}`;
            const a = await send(base, method, `${path}${query}`, headers, b.body);
            if (a === null) return; // closed without an answer (a body the server stopped reading)
            statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
            assert.ok(a.status >= 100 && a.status < 600, `${what}: status ${a.status}`);
            if (a.status >= 400 && method !== 'HEAD') {
              // What fails before the route (HTTP parsing, the token) keeps TorchServe's shape on OIP paths too.
              const oip = listener === 'inference' && OIP_ROUTE.test(`${path}${query}`) && !a.body.toString('utf8').includes('"code"');
              if (oip) assertOipErrorShape(a, what);
              else assertErrorShape(a, what);
            }
            // A 500 is an exception ortserve did not expect (toServeError's catch-all): a bug, for these inputs.
            assert.notEqual(a.status, 500, `${what}: 500 ${a.body.toString('utf8')}`);
          },
        ),
        params(501, 400),
      );
      trap.check('server');
    } finally {
      trap.dispose();
    }
    if (process.env['FUZZ_VERBOSE']) console.log('statuses', JSON.stringify([...statuses].sort((x, y) => x[0] - y[0])));
    // The run reached the routes, not only the token check.
    assert.ok([...statuses.keys()].some((st) => st === 200), `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok([...statuses.keys()].some((st) => st === 404), `statuses: ${JSON.stringify([...statuses])}`);
  });

  it('survives requests that break HTTP itself (60 raw requests); Node answers those with a bare 400', async () => {
    const inferenceKey = s.auth('inference')['Authorization'] ?? '';
    const head = (line: string, headers: string[]): string => `${line}\r\nHost: x\r\nAuthorization: ${inferenceKey}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
    const cases = fc.oneof(
      fc.constantFrom(
        head('POST /predictions/probe HTTP/1.1', ['Content-Length: 10']) + 'short', // ends early: no answer
        head('POST /predictions/probe HTTP/1.1', ['Content-Length: abc']),
        head('POST /predictions/probe HTTP/1.1', ['Content-Length: 5', 'Content-Length: 6']) + 'hello',
        head('POST /predictions/probe HTTP/1.1', ['Transfer-Encoding: chunked']) + 'zz\r\nhello\r\n0\r\n\r\n',
        head('POST /predictions/probe HTTP/1.1', ['Transfer-Encoding: chunked']) + '5\r\nhel', // chunk cut short
        head('POST /predictions/probe HTTP/1.1', ['Transfer-Encoding: chunked', 'Content-Length: 3']) + '3\r\nabc\r\n0\r\n\r\n',
        head('GET /ping HTTP/1.1', ['Bad Header: x']),
        head('GET /ping HTTP/1.1', ['X: a\u0000b']),
        head('GET /pi ng HTTP/1.1', []),
        head('GET /ping HTTP/9.9', []),
        'GET /ping\r\n\r\n',
        head('GET /%zz%00/../.. HTTP/1.1', []),
        head(`GET /${'a'.repeat(20_000)} HTTP/1.1`, []),
        head('GET /ping HTTP/1.1', [`X-Big: ${'b'.repeat(20_000)}`]),
        '\r\n\r\n\r\n',
      ),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a).toString('latin1')),
      fc.tuple(fc.constantFrom('GET', 'POST', 'PUT'), fc.uint8Array({ maxLength: 60 })).map(([m, a]) => `${m} /predictions/probe HTTP/1.1\r\n${Buffer.from(a).toString('latin1')}\r\n\r\n`),
    );
    await fc.assert(
      fc.asyncProperty(cases, async (text) => {
        const reply = await rawExchange(s.inferenceUrl, Buffer.from(text, 'latin1'));
        if (reply === '') return; // closed without answering
        const m = /^HTTP\/1\.1 (\d{3}) /.exec(reply);
        assert.ok(m, `not an HTTP answer: ${JSON.stringify(reply.slice(0, 100))}`);
        const status = Number(m[1]);
        assert.ok(status < 600);
        const body = reply.slice(reply.indexOf('\r\n\r\n') + 4);
        // Node refuses malformed HTTP before ortserve sees it, with an empty body: the parser's bare
        // 400/413/414/431, or (an HTTP/1.1 request without Host) a 400 with an empty chunked body.
        if (status >= 400 && body !== '' && body !== '0\r\n\r\n') {
          const doc = JSON.parse(body) as { code: number; type: string; message: string };
          assert.equal(doc.code, status);
        }
      }),
      params(502, 60),
    );
  });

  it('still answers /ping and serves predictions afterwards', async () => {
    const ping = await send(s.inferenceUrl, 'GET', '/ping', s.auth('inference'), null);
    assert.equal(ping?.status, 200);
    assert.deepEqual(JSON.parse(ping!.body.toString()), { status: 'Healthy' });
    const p = await send(s.inferenceUrl, 'POST', '/predictions/probe', { ...s.auth('inference'), 'Content-Type': 'text/plain' }, Buffer.from('still here'));
    assert.equal(p?.status, 200);
    assert.equal(p!.body.toString(), 'still here');
  });
});
