import type { Test } from 'supertest';

/** Buffers any response body as bytes, whatever its Content-Type (or none). */
export function binary(t: Test): Test {
  return t.buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  });
}

/** The response body as text, for bodies buffered with `binary`. */
export function text(body: unknown): string {
  return Buffer.from(body as Buffer).toString('utf8');
}

/** The response body parsed as JSON, for bodies buffered with `binary`. */
export function json(body: unknown): any {
  return JSON.parse(text(body));
}
