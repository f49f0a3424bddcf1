/**
 * Property and fuzz tests of the request decoder: the MIME type and header readers, the form parser
 * (busboy, for multipart/form-data and application/x-www-form-urlencoded) and the body reader
 * (raw-body). Each resolves to well-formed parameters or rejects with BadRequestException (raw-body's
 * typed HTTP errors for the body reader); nothing throws past them, nothing is left unhandled, nothing hangs.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BadRequestException } from '../../src/errors.js';
import { readBody } from '../../src/http/body.js';
import { clientHeaders, mimeType, requestParameters } from '../../src/http/request-input.js';
import type { WireParameter } from '../../src/workers/messages.js';
import { params, returnsOrThrows, settlesOrThrows, stringOver, trapUnhandled } from './support.js';

/** No lone surrogates (String.prototype.isWellFormed is not in the ES2023 lib). */
function isWellFormed(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

/** The parts of an IncomingMessage the decoder reads. */
function fakeRequest(headers: Record<string, string>, rawHeaders: string[] = []): IncomingMessage {
  return { headers, rawHeaders } as unknown as IncomingMessage;
}

const headerText = stringOver([';', '=', '"', ',', ' ', '/', 'multipart/form-data', 'boundary', 'charset', 'utf-8', 'text/plain', '\t', 'é'], 20);

describe('fuzz: request headers', () => {
  it('mimeType gives a lower-case type without parameters, or null (2000 cases)', () => {
    fc.assert(
      fc.property(fc.option(headerText, { nil: undefined }), (ct) => {
        const m = mimeType(fakeRequest(ct === undefined ? {} : { 'content-type': ct }));
        if (m === null) return;
        assert.ok(m.length > 0 && !m.includes(';') && m === m.toLowerCase() && m === m.trim(), m);
      }),
      params(301, 2000),
    );
  });

  it('clientHeaders keeps the last value of each name, for any raw header list (1000 cases)', () => {
    const name = fc.constantFrom('A', 'a', 'Content-Type', '__proto__', 'constructor', 'toString', 'x-y');
    fc.assert(
      fc.property(fc.array(fc.oneof(name, fc.string({ maxLength: 6 })), { maxLength: 13 }), (raw) => {
        const h = returnsOrThrows(() => clientHeaders(fakeRequest({}, raw)), [], 'clientHeaders');
        assert.ok(h !== undefined);
        for (const [k, v] of Object.entries(h)) assert.equal(typeof v, 'string', k);
        for (let i = 0; i + 1 < raw.length; i += 2) {
          const last = raw.map((x, j) => (j % 2 === 0 && j + 1 < raw.length && x === raw[i] ? raw[j + 1] : undefined)).filter((x) => x !== undefined).pop();
          assert.equal(Object.getOwnPropertyDescriptor(h, raw[i]!)?.value, last, `header ${raw[i]}`);
        }
      }),
      params(302, 1000),
    );
  });
});

interface Part {
  name: string;
  /** A file part when set. */
  filename?: string;
  contentType?: string;
  data: Buffer;
}

const partName = fc.oneof(fc.constantFrom('data', 'body', 'file', '', 'a b', 'é', '__proto__'), fc.string({ unit: 'grapheme-ascii', maxLength: 8 }).filter((s) => !/["\r\n\\]/.test(s)));
const part: fc.Arbitrary<Part> = fc.record({
  name: partName,
  filename: fc.option(fc.constantFrom('a.txt', 'x.bin', '', '../../etc/passwd', 'é.png'), { nil: undefined }),
  contentType: fc.option(fc.constantFrom('text/plain', 'application/octet-stream', 'image/png', 'application/json; charset=utf-8'), { nil: undefined }),
  data: fc.oneof(fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a))),
});

function multipart(boundary: string, parts: Part[], closing: boolean): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType !== undefined) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), p.data, Buffer.from('\r\n'));
  }
  if (closing) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

type BodyMutation = { kind: 'none' } | { kind: 'truncate'; at: number } | { kind: 'flip'; at: number; value: number } | { kind: 'random'; bytes: Uint8Array };
const bodyMutation: fc.Arbitrary<BodyMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' } as const) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ kind: 'truncate', at }) as const) },
  { weight: 2, arbitrary: fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), value: fc.integer({ min: 0, max: 255 }) }).map((r) => ({ kind: 'flip', ...r }) as const) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: 'random', bytes }) as const) },
);

function mutate(body: Buffer, m: BodyMutation): Buffer {
  if (m.kind === 'truncate') return body.subarray(0, Math.floor(body.length * m.at));
  if (m.kind === 'flip' && body.length > 0) {
    const out = Buffer.from(body);
    out[Math.floor(m.at * out.length)] = m.value;
    return out;
  }
  if (m.kind === 'random') return Buffer.from(m.bytes);
  return body;
}

function assertParameters(ps: WireParameter[]): void {
  assert.ok(Array.isArray(ps));
  for (const p of ps) {
    assert.equal(typeof p.name, 'string');
    assert.ok(p.contentType === null || typeof p.contentType === 'string');
    assert.ok(Buffer.isBuffer(p.value));
  }
}

describe('fuzz: form decoding (busboy)', () => {
  const boundary = fc.oneof(fc.constantFrom('XyZ', '----WebKitFormBoundary7MA4YWxkTrZu0gW', 'a', '"quoted"', ' '), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 70 }));
  const contentType = (b: string): fc.Arbitrary<string> =>
    fc.constantFrom(
      `multipart/form-data; boundary=${b}`,
      `multipart/form-data; boundary="${b}"`,
      `Multipart/Form-Data;boundary=${b}; charset=latin1`,
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=other',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-16le',
      'application/x-www-form-urlencoded; charset=nonsense',
      'text/plain',
      'application/json',
    );

  it('requestParameters resolves to parameters or rejects with BadRequestException, for generated and broken bodies (2000 cases)', async () => {
    const trap = trapUnhandled();
    try {
      await fc.assert(
        fc.asyncProperty(
          boundary.chain((b) => fc.tuple(fc.constant(b), contentType(b))),
          fc.array(part, { maxLength: 5 }),
          fc.boolean(),
          bodyMutation,
          async ([b, ct], parts, closing, m) => {
            const body = mutate(multipart(b, parts, closing), m);
            const r = await settlesOrThrows(() => requestParameters(fakeRequest({ 'content-type': ct }), body), [BadRequestException], 'requestParameters', 2000);
            if (r.ok) assertParameters(r.value);
          },
        ),
        params(303, 2000),
      );
      // Stream errors are emitted on a later tick: let them surface inside this test.
      await new Promise((resolve) => setImmediate(resolve));
      trap.check('requestParameters');
    } finally {
      trap.dispose();
    }
  });

  it('a well-formed multipart body comes back part by part (1000 cases)', async () => {
    const textPart = part.map((p) => (!p.filename ? { ...p, data: Buffer.from(p.data.toString('utf8')) } : p));
    await fc.assert(
      fc.asyncProperty(fc.array(textPart, { maxLength: 5 }), async (parts) => {
        const b = 'fuzzBoundary0123456789';
        fc.pre(parts.every((p) => !p.data.includes(b)));
        const got = await requestParameters(fakeRequest({ 'content-type': `multipart/form-data; boundary=${b}` }), multipart(b, parts, true));
        assert.equal(got.length, parts.length);
        // Fields arrive as they are parsed, files when their stream ends: compare as multisets. busboy reads
        // a part as a file when it has a (non-empty) filename or is application/octet-stream; files keep
        // their type (text/plain by default), fields have none.
        const expectedType = (p: Part): string | null => {
          const base = p.contentType?.split(';')[0] ?? null;
          if (p.filename) return base ?? 'text/plain';
          return base === 'application/octet-stream' ? base : null;
        };
        const key = (name: string, value: Buffer | Uint8Array, type: string | null): string => JSON.stringify([name, Buffer.from(value).toString('base64'), type]);
        assert.deepEqual(got.map((g) => key(g.name, g.value, g.contentType)).sort(), parts.map((p) => key(p.name, p.data, expectedType(p))).sort());
      }),
      params(304, 1000),
    );
  });

  it('urlencoded fields come back as written (1000 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 })), { maxLength: 6 }), async (fields) => {
        const wellFormed = fields.filter(([k, v]) => isWellFormed(k) && isWellFormed(v));
        const body = Buffer.from(new URLSearchParams(wellFormed).toString());
        const got = await requestParameters(fakeRequest({ 'content-type': 'application/x-www-form-urlencoded' }), body);
        assert.deepEqual(
          got.map((p) => [p.name, Buffer.from(p.value).toString('utf8'), p.contentType]),
          wellFormed.map(([k, v]) => [k, v, null]),
        );
      }),
      params(305, 1000),
    );
  });

  it('any other content type is one "body" parameter with the bytes unchanged (1000 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(headerText, { nil: undefined }), fc.uint8Array({ maxLength: 100 }), async (ct, bytes) => {
        const req = fakeRequest(ct === undefined ? {} : { 'content-type': ct });
        const mime = mimeType(req);
        fc.pre(mime !== 'multipart/form-data' && mime !== 'application/x-www-form-urlencoded');
        const got = await requestParameters(req, Buffer.from(bytes));
        assert.deepEqual(got, [{ name: 'body', contentType: mime, value: Buffer.from(bytes) }]);
      }),
      params(306, 1000),
    );
  });
});

/** raw-body's typed errors: an HTTP status and a `type` string. */
class RawBodyError extends Error {}
const RAW_BODY_TYPES = new Set(['entity.too.large', 'request.aborted', 'request.size.invalid', 'stream.encoding.set', 'stream.not.readable']);

describe('fuzz: body reading (raw-body)', () => {
  it('readBody gives exactly the bytes sent, or one of raw-body\'s typed errors, never hangs (1000 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
        fc.constantFrom('exact', 'less', 'more', 'absent', 'garbage', 'negative', 'huge'),
        fc.boolean(),
        fc.constantFrom(0, 1, 100, 1000, 6_553_500),
        fc.constantFrom('end', 'abort'),
        async (chunks, clMode, chunked, limit, ending) => {
          const total = chunks.reduce((n, c) => n + c.length, 0);
          const headers: Record<string, string> = {};
          const cl = { exact: String(total), less: String(Math.max(0, total - 1)), more: String(total + 1), absent: undefined, garbage: '12abc', negative: '-5', huge: '99999999999999999999' }[clMode];
          if (cl !== undefined) headers['content-length'] = cl;
          if (chunked) headers['transfer-encoding'] = 'chunked';
          const stream = Object.assign(new PassThrough(), { headers });
          const reading = settlesOrThrows(
            () =>
              readBody(stream as unknown as IncomingMessage, limit).catch((err: { type?: string; status?: number }) => {
                // Normalise raw-body's HttpErrors into one class for the check; keep anything else as it is.
                if (typeof err.type === 'string' && RAW_BODY_TYPES.has(err.type) && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
                  throw new RawBodyError(err.type);
                }
                throw err;
              }),
            [RawBodyError],
            'readBody',
            2000,
          );
          for (const c of chunks) stream.write(Buffer.from(c));
          if (ending === 'end') stream.end();
          else {
            stream.emit('aborted');
            stream.destroy();
          }
          const r = await reading;
          if (!r.ok) return;
          const sent = Buffer.concat(chunks.map((c) => Buffer.from(c)));
          if (cl === undefined && !chunked) assert.equal(r.value.length, 0);
          else assert.ok(r.value.equals(sent) && sent.length <= limit, 'a body other than the one sent');
        },
      ),
      params(307, 1000),
    );
  });
});
