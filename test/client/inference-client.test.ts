/**
 * The inference client against a small local HTTP server that stands in for the network: it answers
 * with whatever status sequence a test scripts, so retries and back-off can be checked exactly.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ConnectionError, InferenceClient, predictionPath, ServerError, type RetryInfo } from '../../src/client/inference-client.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  type: string | undefined;
  body: string;
}

type Answer = { status: number; body: string };

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Answers the scripted replies in order, then repeats the last one. */
async function stub(answers: Answer[], port = 0): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, type: req.headers['content-type'], body });
      const a = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      res.writeHead(a.status, { 'Content-Type': 'application/json' }).end(a.body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const OK: Answer = { status: 200, body: JSON.stringify([{ label: 'music', score: 0.8 }, { label: 'sports', score: 0.2 }]) };
const BUSY: Answer = { status: 503, body: JSON.stringify({ code: 503, type: 'ServiceUnavailableException', message: 'Model "m" has no worker' }) };

const client = (url: string, extra: Partial<ConstructorParameters<typeof InferenceClient>[0]> = {}): InferenceClient =>
  new InferenceClient({ baseUrl: url, token: null, retries: 5, backoffMs: 20, maxSockets: 2, ...extra });

describe('inference client', () => {
  it('posts {"text", "top_k"} as JSON with the bearer token, and returns labels, scores and latency', async () => {
    const s = await stub([OK]);
    const c = client(s.url, { token: 'k3y' });
    const r = await c.classify('taxonomy/2.0', 'Jazz night', 2);
    c.close();
    assert.deepEqual(r.predictions, [{ label: 'music', score: 0.8 }, { label: 'sports', score: 0.2 }]);
    assert.equal(r.attempts, 1);
    assert.ok(r.latencyMs > 0);
    assert.deepEqual(s.seen, [{ method: 'POST', url: '/predictions/taxonomy/2.0', auth: 'Bearer k3y', type: 'application/json', body: '{"text":"Jazz night","top_k":2}' }]);
    assert.equal(predictionPath('a b'), '/predictions/a%20b');
  });

  it('retries a 503 with growing back-off until the server answers', async () => {
    const s = await stub([BUSY, BUSY, OK]);
    const retries: RetryInfo[] = [];
    const c = client(s.url, { onRetry: (r) => retries.push(r) });
    const r = await c.classify('m', 'x', 1);
    c.close();
    assert.equal(r.attempts, 3);
    assert.equal(s.seen.length, 3);
    assert.equal(c.retried, 2);
    assert.deepEqual(retries.map((x) => x.attempt), [1, 2]);
    assert.match(retries[0]!.reason, /^503 Model "m" has no worker/);
    // Jitter keeps each delay within [half, all] of 20 ms, then 40 ms.
    assert.ok(retries[0]!.delayMs >= 10 && retries[0]!.delayMs <= 20, String(retries[0]!.delayMs));
    assert.ok(retries[1]!.delayMs >= 20 && retries[1]!.delayMs <= 40, String(retries[1]!.delayMs));
  });

  it('gives up after --retries and reports the last 503', async () => {
    const s = await stub([BUSY]);
    const c = client(s.url, { retries: 2 });
    await assert.rejects(c.classify('m', 'x', 1), (e: unknown) => e instanceof ServerError && e.status === 503 && e.type === 'ServiceUnavailableException');
    c.close();
    assert.equal(s.seen.length, 3);
  });

  it('does not retry other errors, and keeps TorchServe\'s type and message', async () => {
    const s = await stub([{ status: 404, body: JSON.stringify({ code: 404, type: 'ModelNotFoundException', message: 'Model not found: nope' }) }]);
    const c = client(s.url);
    await assert.rejects(c.classify('nope', 'x', 1), (e: unknown) => e instanceof ServerError && e.status === 404 && e.type === 'ModelNotFoundException' && e.message === 'Model not found: nope');
    c.close();
    assert.equal(s.seen.length, 1);
  });

  it('refuses an answer that is not a label list (a model that is not a text classifier)', async () => {
    const s = await stub([{ status: 200, body: '"music"' }]);
    const c = client(s.url);
    await assert.rejects(c.classify('m', 'x', 1), /expected \[\{"label", "score"\}/);
    c.close();
    assert.equal(s.seen.length, 1);
  });

  it('retries a refused connection until the server is up', async () => {
    // A free port: listen, note it, close; the server comes up there after the first attempts.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const retries: RetryInfo[] = [];
    const c = client(`http://127.0.0.1:${port}`, { retries: 10, backoffMs: 30, maxBackoffMs: 60, onRetry: (r) => retries.push(r) });
    const pending = c.classify('m', 'x', 1);
    await new Promise((r) => setTimeout(r, 80));
    const s = await stub([OK], port);
    const r = await pending;
    c.close();
    assert.ok(r.attempts > 1);
    assert.match(retries[0]!.reason, /ECONNREFUSED/);
    assert.equal(s.seen.length, 1);
  });

  it('fails with a ConnectionError when the server never comes', async () => {
    const c = client('http://127.0.0.1:1', { retries: 1, backoffMs: 5 });
    await assert.rejects(c.classify('m', 'x', 1), (e: unknown) => e instanceof ConnectionError && e.code === 'ECONNREFUSED');
    c.close();
  });
});
