/**
 * Streaming answers (spec §1.6): a handler calls `sendIntermediatePredictResponse` (TorchServe's
 * `send_intermediate_predict_response`) and the client receives each part as one HTTP/1.1 chunk, in
 * order, with `ts_stream_next: true` among the headers of the first part; the returned value is the
 * last chunk. Also: two streams in one batch, answers without parts unchanged, a handler that throws or
 * a worker that dies mid-stream, an intermediate code other than 200, and the job-level API.
 * Handler: test/fixtures/handlers/streamer.ts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Job } from '../../src/scheduling/job.js';
import type { WireResponse } from '../../src/workers/messages.js';
import { writeFixtureMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Unhandled rejections of this process (the server runs in it): no stream failure may cause one. */
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

interface RawAnswer {
  statusLine: string;
  headers: Array<[string, string]>;
  /** The body's chunks as framed on the wire, or null for a Content-Length body. */
  chunks: Buffer[] | null;
  body: Buffer;
  /** True when a chunked body ended with its zero-length terminator. */
  terminated: boolean;
}

function header(a: RawAnswer, name: string): string | undefined {
  return a.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/**
 * Sends one request over a raw socket and parses the answer byte by byte, so that the chunk framing
 * itself is checked (node:http would join or split chunks as TCP delivers them).
 */
function rawPredict(s: TestServer, model: string, body: unknown): Promise<RawAnswer> {
  const url = new URL(s.inferenceUrl);
  const payload = Buffer.from(JSON.stringify(body));
  const auth = s.auth('inference').Authorization;
  const head = [
    `POST /predictions/${model} HTTP/1.1`,
    `Host: ${url.host}`,
    'Content-Type: application/json',
    `Content-Length: ${payload.length}`,
    ...(auth ? [`Authorization: ${auth}`] : []),
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(url.port), url.hostname);
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (a: RawAnswer): void => {
      done = true;
      sock.destroy();
      resolve(a);
    };
    const tryParse = (ended: boolean): void => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (ended) reject(new Error(`connection closed before the headers: ${buf.toString()}`));
        return;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = lines.slice(1).map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string];
      });
      const a: RawAnswer = { statusLine: lines[0]!, headers, chunks: null, body: Buffer.alloc(0), terminated: false };
      let rest = buf.subarray(end + 4);
      const te = header(a, 'transfer-encoding');
      if (te?.toLowerCase() !== 'chunked') {
        const len = Number(header(a, 'content-length') ?? 0);
        if (rest.length >= len) finish({ ...a, body: rest.subarray(0, len) });
        else if (ended) reject(new Error('connection closed inside the body'));
        return;
      }
      const chunks: Buffer[] = [];
      for (;;) {
        const eol = rest.indexOf('\r\n');
        if (eol < 0) break;
        const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
        if (size === 0) {
          if (rest.length >= eol + 4) return finish({ ...a, chunks, body: Buffer.concat(chunks), terminated: true });
          break;
        }
        if (rest.length < eol + 2 + size + 2) break;
        chunks.push(rest.subarray(eol + 2, eol + 2 + size));
        rest = rest.subarray(eol + 2 + size + 2);
      }
      if (ended) finish({ ...a, chunks, body: Buffer.concat(chunks), terminated: false });
    };
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), payload])));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!done) tryParse(false);
    });
    sock.on('end', () => !done && tryParse(true));
    sock.on('error', (err) => !done && reject(err));
    sock.setTimeout(20_000, () => !done && reject(new Error('no complete answer in 20 s')));
  });
}

const texts = (a: RawAnswer): string[] => (a.chunks ?? []).map((c) => c.toString('utf8'));

describe('streaming answers', { timeout: 60_000 }, () => {
  let s: TestServer;

  before(async () => {
    // TorchServe's batching (wait up to max_batch_delay for a full batch), so two requests share one.
    s = await startTestServer({ properties: { batch_scheduler: 'torchserve' } });
    writeFixtureMar(s.modelStore, 'streamer.ts', 'stream');
    writeFixtureMar(s.modelStore, 'streamer.ts', 'stream2');
    writeFixtureMar(s.modelStore, 'streamer.ts', 'streamdies');
    await s.register('url=stream.mar&initial_workers=1');
    await s.register('url=stream2.mar&initial_workers=1&batch_size=2&max_batch_delay=5000');
    await s.register('url=streamdies.mar&initial_workers=1');
  });
  after(async () => {
    await s.stop();
    assert.deepEqual(unhandled, []);
  });

  it('sends each part as it comes, with the first part’s headers (node:http client)', async () => {
    const url = new URL(`${s.inferenceUrl}/predictions/stream`);
    const body = JSON.stringify({ parts: 3, prefix: 'a', delayMs: 150, contentType: 'text/plain', header: 'yes' });
    const got = await new Promise<{ res: http.IncomingMessage; data: Array<{ at: number; text: string }>; endAt: number }>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...s.auth('inference') } }, (res) => {
        const data: Array<{ at: number; text: string }> = [];
        res.on('data', (c: Buffer) => data.push({ at: performance.now(), text: c.toString('utf8') }));
        res.on('end', () => resolve({ res, data, endAt: performance.now() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    const { res, data, endAt } = got;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.headers['ts_stream_next'], 'true');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(res.headers['x-stream-test'], 'yes');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['date'], undefined);
    assert.equal(res.headers['pragma'], 'no-cache');
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(data.map((d) => d.text).join(''), 'a0 a1 a2 a-done(batch=1)');
    // Streamed, not buffered: the first part arrived long before the last (3 × 150 ms apart).
    assert.ok(endAt - data[0]!.at > 250, `first part ${(endAt - data[0]!.at).toFixed(0)} ms before the end`);
    assert.equal(data[0]!.text, 'a0 ');
  });

  it('frames each part as one chunk, in order, ending with the terminator', async () => {
    const a = await rawPredict(s, 'stream', { parts: 4, prefix: 'p' });
    assert.equal(a.statusLine.split(' ')[1], '200');
    assert.deepEqual(texts(a), ['p0 ', 'p1 ', 'p2 ', 'p3 ', 'p-done(batch=1)']);
    assert.equal(a.terminated, true);
    assert.equal(header(a, 'Transfer-Encoding'), 'chunked');
    assert.equal(header(a, 'ts_stream_next'), 'true');
    assert.equal(header(a, 'Content-Type'), undefined, 'no Content-Type unless the handler set one');
    assert.equal(header(a, 'Connection'), 'keep-alive');
  });

  it('streams bytes as they are', async () => {
    const a = await rawPredict(s, 'stream', { parts: 2, bytes: true });
    assert.deepEqual(
      (a.chunks ?? []).slice(0, 2).map((c) => [...c]),
      [
        [0, 255],
        [1, 254],
      ],
    );
    assert.equal(a.terminated, true);
  });

  it('gives two streaming requests of one batch their own parts, in order', async () => {
    const [x, y] = await Promise.all([
      rawPredict(s, 'stream2', { parts: 3, prefix: 'x', delayMs: 20 }),
      rawPredict(s, 'stream2', { parts: 5, prefix: 'y', delayMs: 20 }),
    ]);
    assert.deepEqual(texts(x), ['x0 ', 'x1 ', 'x2 ', 'x-done(batch=2)']);
    assert.deepEqual(texts(y), ['y0 ', 'y1 ', 'y2 ', 'y3 ', 'y4 ', 'y-done(batch=2)']);
    assert.ok(x.terminated && y.terminated);
    assert.notEqual(header(x, 'x-request-id'), header(y, 'x-request-id'));
  });

  it('answers a request without parts exactly as before (Content-Length, no stream header)', async () => {
    const a = await rawPredict(s, 'stream', { tag: 1 });
    assert.equal(a.statusLine.split(' ')[1], '200');
    assert.equal(a.chunks, null);
    assert.equal(header(a, 'Transfer-Encoding'), undefined);
    assert.equal(header(a, 'ts_stream_next'), undefined);
    assert.equal(header(a, 'Content-Length'), String(a.body.length));
    assert.equal(a.body.toString(), '{\n  "streamed": false,\n  "batch": 1\n}');
  });

  it('ends the stream cleanly when the handler throws after some parts; the worker goes on', async () => {
    const a = await rawPredict(s, 'stream', { parts: 4, prefix: 't', throwAfter: 2 });
    assert.equal(a.statusLine.split(' ')[1], '200');
    assert.deepEqual(texts(a), ['t0 ', 't1 ']);
    assert.equal(a.terminated, true);
    const next = await rawPredict(s, 'stream', { parts: 1, prefix: 'n' });
    assert.deepEqual(texts(next), ['n0 ', 'n-done(batch=1)']);
  });

  it('survives a client that hangs up mid-stream', async () => {
    const url = new URL(s.inferenceUrl);
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: '/predictions/stream', method: 'POST', headers: { 'Content-Type': 'application/json', ...s.auth('inference') } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
      req.end(JSON.stringify({ parts: 5, prefix: 'h', delayMs: 50 }));
      setTimeout(() => reject(new Error('no first part')), 10_000).unref();
    });
    await sleep(400);
    const next = await rawPredict(s, 'stream', { parts: 1, prefix: 'k' });
    assert.deepEqual(texts(next), ['k0 ', 'k-done(batch=1)']);
  });

  it('answers an error when the handler throws before any part', async () => {
    const a = await rawPredict(s, 'stream', { parts: 2, throwAfter: 0 });
    assert.equal(a.statusLine.split(' ')[1], '503');
    assert.deepEqual(JSON.parse(a.body.toString()), { code: 503, type: 'InternalServerException', message: 'Prediction failed' });
  });

  it('fails the batch when an intermediate message carries a code other than 200', async () => {
    const a = await rawPredict(s, 'stream', { parts: 2, failCode: 507 });
    assert.equal(a.statusLine.split(' ')[1], '507');
    assert.deepEqual(JSON.parse(a.body.toString()), { code: 507, type: 'InternalServerException', message: 'failed on purpose' });
  });

  it('ends the stream cleanly when the worker dies mid-stream; the worker recovers', async () => {
    const a = await rawPredict(s, 'streamdies', { parts: 3, prefix: 'd', exitAfter: 1 });
    assert.equal(a.statusLine.split(' ')[1], '200');
    assert.deepEqual(texts(a), ['d0 ']);
    assert.equal(a.terminated, true);
    let answered: RawAnswer | null = null;
    for (let i = 0; i < 100 && !answered; i++) {
      const r = await rawPredict(s, 'streamdies', { parts: 2, prefix: 'r' });
      if (r.statusLine.split(' ')[1] === '200') answered = r;
      else await sleep(100);
    }
    assert.ok(answered, 'the worker never recovered');
    assert.deepEqual(texts(answered), ['r0 ', 'r1 ', 'r-done(batch=1)']);
    const ping = await fetch(`${s.inferenceUrl}/ping`, { headers: s.auth('inference') });
    assert.equal(ping.status, 200);
  });
});

describe('Job.onIntermediate', () => {
  const part = (text: string): WireResponse => ({ status: 200, phrase: '', contentType: null, headers: { ts_stream_next: 'true' }, body: Buffer.from(text) });
  const job = (): Job => new Job({ requestId: 'r', headers: {}, parameters: [] });

  it('delivers parts in order, replays the ones before the first listener, and none after the outcome', async () => {
    const j = job();
    j.intermediate(part('a'));
    const seen: string[] = [];
    j.onIntermediate((r) => seen.push(Buffer.from(r.body).toString()));
    j.intermediate(part('b'));
    j.complete(part('final'));
    j.intermediate(part('late'));
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(j.intermediateCount, 2);
    const o = await j.outcome;
    assert.ok(o.ok && Buffer.from(o.response.body).toString() === 'final');
  });

  it('keeps delivering when a listener throws', () => {
    const j = job();
    const seen: string[] = [];
    const err = console.error;
    console.error = () => undefined;
    try {
      j.onIntermediate(() => {
        throw new Error('listener bug');
      });
      j.onIntermediate((r) => seen.push(Buffer.from(r.body).toString()));
      j.intermediate(part('a'));
      j.intermediate(part('b'));
    } finally {
      console.error = err;
    }
    assert.deepEqual(seen, ['a', 'b']);
  });
});
