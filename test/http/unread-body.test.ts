/**
 * Issue 13, item 6: a request that will be refused (no or a wrong token, an unknown route or model, a
 * method the route does not allow) is answered from its headers; its body is never read, and the
 * connection is closed rather than held while the client sends megabytes. And `max_connections` caps the
 * open connections of a listener.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** TorchServe's default max_request_size: the most one request may make the server buffer. */
const BODY_BYTES = 6_553_500;

interface Probe {
  /** What the server wrote (latin1), once it closed the connection or `waitMs` passed. */
  answer: string;
  /** Body bytes the client had written when the first byte of the answer arrived (-1: no answer). */
  sentWhenAnswered: number;
  /** True when the connection ended (FIN, or a reset once the server stopped reading) before the client gave up. */
  closedByServer: boolean;
}

/**
 * Sends `head` (which declares a BODY_BYTES body), then the body slowly, 64 KiB every 50 ms (the whole
 * body in about 5 s), until the server closes the connection or `waitMs` pass. A server that reads the
 * body before it answers can only answer once all of it was sent.
 */
function slowBodyRequest(url: string, head: string, waitMs = 8000): Promise<Probe> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let sent = 0;
    let sentWhenAnswered = -1;
    let closedByServer = false;
    let connected = false;
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(head);
      connected = true;
    });
    const chunk = Buffer.alloc(64 * 1024, 120);
    const pump = setInterval(() => {
      if (!connected || sent >= BODY_BYTES || socket.destroyed) return;
      socket.write(chunk);
      sent += chunk.length;
    }, 50);
    socket.on('data', (c: Buffer) => {
      if (sentWhenAnswered < 0) sentWhenAnswered = sent;
      chunks.push(c);
    });
    socket.on('error', () => undefined);
    socket.on('end', () => (closedByServer = !gaveUp));
    const done = (): void => {
      closedByServer ||= !gaveUp;
      clearInterval(pump);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ answer: Buffer.concat(chunks).toString('latin1'), sentWhenAnswered, closedByServer });
    };
    socket.on('close', done);
    let gaveUp = false;
    const giveUp = setTimeout(() => {
      gaveUp = true;
      done();
    }, waitMs);
  });
}

/** V8's full garbage collection, reached without --expose-gc on the command line. */
function gc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function head(method: string, path: string, headers: Record<string, string>): string {
  const lines = Object.entries({ Host: '127.0.0.1', 'Content-Length': String(BODY_BYTES), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

function status(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}

describe('refused requests are answered from their headers (issue 13)', () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
    writeProbeMar(s.modelStore, { name: 'probe' });
    await s.register('url=probe.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('answers 60 concurrent unauthenticated multi-MB requests at once, closes them, and buffers none of their bodies', async () => {
    // The server runs in this process: what its request bodies hold shows in this process's ArrayBuffers.
    // Sampled after a full collection, so that chunks already discarded do not count.
    const collect = gc();
    collect();
    const before = process.memoryUsage().arrayBuffers;
    let grown = 0;
    const sampler = setInterval(() => {
      collect();
      grown = Math.max(grown, process.memoryUsage().arrayBuffers - before);
    }, 250);
    const probes = await Promise.all(
      Array.from({ length: 60 }, () => slowBodyRequest(s.inferenceUrl, head('POST', '/predictions/probe', {}))),
    );
    clearInterval(sampler);
    for (const p of probes) {
      assert.equal(status(p.answer), 400, p.answer.slice(0, 200));
      assert.match(p.answer, /InvalidKeyException/);
      assert.match(p.answer, /\r\nConnection: close\r\n/i);
      assert.ok(p.sentWhenAnswered >= 0 && p.sentWhenAnswered < BODY_BYTES, `answered after ${p.sentWhenAnswered} body bytes`);
      assert.ok(p.closedByServer, 'the server closed the connection after its answer');
    }
    // 60 bodies read would be 390 MB. Socket read buffers, in flight on both sides, are a few MB.
    assert.ok(grown < (60 * BODY_BYTES) / 10, `ArrayBuffer memory grew by ${grown} bytes`);
  });

  it('answers an unknown route, an unknown model and a refused method from the headers too', async () => {
    const cases: Array<[string, string, string, number]> = [
      [s.inferenceUrl, 'POST', '/no/such/route', 404],
      [s.inferenceUrl, 'POST', '/predictions/nosuchmodel', 404],
      [s.managementUrl, 'PATCH', '/models/probe', 405],
      [s.managementUrl, 'POST', '/models/probe/1.0/set-default', 405],
    ];
    for (const [base, method, path, code] of cases) {
      const kind = base === s.inferenceUrl ? 'inference' : 'management';
      const p = await slowBodyRequest(base, head(method, path, s.auth(kind)));
      assert.equal(status(p.answer), code, `${method} ${path}: ${p.answer.slice(0, 200)}`);
      assert.ok(p.sentWhenAnswered >= 0 && p.sentWhenAnswered < BODY_BYTES, `${method} ${path} answered after ${p.sentWhenAnswered} body bytes`);
      assert.ok(p.closedByServer, `${method} ${path}: connection closed`);
    }
  });

  it('refuses an `Expect: 100-continue` request without telling the client to send its body, and invites an authorized one', async () => {
    const refused = await slowBodyRequest(s.inferenceUrl, head('POST', '/predictions/probe', { Expect: '100-continue' }));
    assert.doesNotMatch(refused.answer, /100 Continue/);
    assert.equal(status(refused.answer), 400);

    const body = 'sent after 100 Continue';
    const { hostname, port } = new URL(s.inferenceUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = net.connect(Number(port), hostname, () =>
        socket.write(head('PUT', '/predictions/probe', { ...s.auth('inference'), Expect: '100-continue', 'Content-Length': String(body.length) })),
      );
      socket.on('data', (c: Buffer) => {
        const first = text === '';
        text += c.toString('latin1');
        if (first && text.startsWith('HTTP/1.1 100 Continue')) socket.write(body);
        if (text.includes(body)) socket.end();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    assert.match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    assert.ok(answer.endsWith(body), answer);
  });

  it('keeps the connection of an authorized request that reads its body', async () => {
    const r = await fetch(`${s.inferenceUrl}/predictions/probe`, { method: 'PUT', headers: s.auth('inference'), body: 'hello' });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'hello');
    assert.notEqual(r.headers.get('connection'), 'close');
  });
});

/** Opens a connection and sends one GET /ping; resolves with what came back before the server closed it. */
function ping(url: string, keepOpen: net.Socket[]): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect(Number(port), hostname, () => socket.write('GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    keepOpen.push(socket);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.includes('\r\n\r\n') && text.includes('}')) resolve(text);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

describe('max_connections (issue 13)', () => {
  let s: TestServer;
  const sockets: net.Socket[] = [];

  before(async () => {
    s = await startTestServer({ properties: { max_connections: '5', disable_token_authorization: 'true' } });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await s.stop();
  });

  it('closes connections beyond the limit at once, and accepts again when one closes', async () => {
    const open = await Promise.all(Array.from({ length: 5 }, () => ping(s.inferenceUrl, sockets)));
    for (const a of open) assert.match(a, /^HTTP\/1\.1 200 /);
    const refused = await ping(s.inferenceUrl, sockets);
    assert.equal(refused, '', 'the sixth connection is closed without an answer');
    sockets[0]!.destroy();
    // The server learns of the close asynchronously: try until a new connection is served.
    let again = '';
    for (let i = 0; i < 50 && again === ''; i++) again = await ping(s.inferenceUrl, sockets);
    assert.match(again, /^HTTP\/1\.1 200 /);
  });

  it('refuses a negative max_connections at startup', async () => {
    // A server that does start (the bug) is stopped, so that the test fails instead of hanging.
    const started = startTestServer({ properties: { max_connections: '-1' } }).then((extra) => extra.stop());
    await assert.rejects(started, /max_connections must be 0/);
  });
});
