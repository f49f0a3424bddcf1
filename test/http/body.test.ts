import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** One raw HTTP/1.1 exchange over a socket: what the server wrote before it closed or `waitMs` passed. */
function rawExchange(url: string, head: string, body: Buffer, waitMs = 2000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(Buffer.concat([Buffer.from(head), body])));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    setTimeout(() => socket.destroy(), waitMs).unref();
  });
}

/** A chunked PUT, as clients send a body of unknown length. */
function chunkedPut(url: string, auth: Record<string, string>, parts: Buffer[]): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { ...auth, 'Transfer-Encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    // The server may answer 413 and close before the client has written everything.
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(err)));
    for (const p of parts) req.write(p);
    req.end();
  });
}

describe('request bodies', () => {
  let s: TestServer;
  let auth: Record<string, string>;

  before(async () => {
    s = await startTestServer({ properties: { max_request_size: '4096' } });
    auth = s.auth('inference');
    writeProbeMar(s.modelStore, { name: 'probe' });
    await s.register('url=probe.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('reads a chunked body of unknown length whole', async () => {
    const r = await chunkedPut(`${s.inferenceUrl}/predictions/probe`, auth, [Buffer.from('first part, '), Buffer.from('second part')]);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'first part, second part');
  });

  it('answers a chunked body that grows past max_request_size with 413 and closes the connection', async () => {
    const r = await chunkedPut(`${s.inferenceUrl}/predictions/probe`, auth, [Buffer.alloc(3000, 97), Buffer.alloc(3000, 98)]);
    assert.equal(r.status, 413);
    assert.equal(r.headers.connection, 'close');
    assert.equal(r.body, '');
  });

  it('survives a client that promises more bytes than it sends, then hangs up', async () => {
    const authLine = `Authorization: ${auth['Authorization']}\r\n`;
    const head = `PUT /predictions/probe HTTP/1.1\r\nHost: x\r\n${authLine}Content-Length: 100\r\n\r\n`;
    const written = await rawExchange(s.inferenceUrl, head, Buffer.from('only ten b'), 300);
    assert.equal(written, '');
    const ok = await fetch(`${s.inferenceUrl}/predictions/probe`, { method: 'PUT', headers: auth, body: 'still here' });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'still here');
  });
});
