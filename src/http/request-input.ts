/**
 * Turns an HTTP request into the backend's request input (spec §1.3): form fields become one
 * parameter each (attributes without a content type, files with theirs); any other body becomes one
 * parameter named `body` with the request's MIME type.
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { BadRequestException } from '../errors.js';
import type { WireParameter } from '../workers/messages.js';

/** The MIME type without parameters, or null when the request has no Content-Type. */
export function mimeType(req: IncomingMessage): string | null {
  const ct = req.headers['content-type'];
  if (!ct) return null;
  return ct.split(';')[0]!.trim().toLowerCase() || null;
}

/** Request headers with the client's spelling of each name; the last value of a repeated header wins. */
export function clientHeaders(req: IncomingMessage): Record<string, string> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  // fromEntries defines own properties: a header named "__proto__" is kept like any other.
  return Object.fromEntries(pairs);
}

function isForm(mime: string | null): boolean {
  return mime === 'multipart/form-data' || mime === 'application/x-www-form-urlencoded';
}

/**
 * Runs busboy over the whole body. busboy reports a broken form in three places, all turned into one
 * BadRequestException: the parser's 'error', the 'error' of a file stream (a body cut inside a file part;
 * unhandled, it would kill the process), and undefined names or values (a charset it cannot decode).
 */
function parseForm(req: IncomingMessage, body: Buffer): Promise<WireParameter[]> {
  return new Promise((resolve, reject) => {
    const params: WireParameter[] = [];
    let failed = false;
    const fail = (why: string): void => {
      if (failed) return;
      failed = true;
      reject(new BadRequestException(`Invalid form data: ${why}`));
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8' });
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
      return;
    }
    // busboy gives `undefined` for an empty name (name="") and for names it cannot decode.
    parser.on('field', (name: string | undefined, value: string | undefined) => {
      if (typeof value !== 'string') {
        fail(`cannot decode the value of field ${JSON.stringify(name ?? '')} (unsupported charset)`);
        return;
      }
      params.push({ name: name ?? '', contentType: null, value: Buffer.from(value, 'utf8') });
    });
    parser.on('file', (name: string | undefined, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err: Error) => fail(err.message));
      stream.on('end', () => params.push({ name: name ?? '', contentType: info.mimeType || null, value: Buffer.concat(chunks) }));
    });
    parser.on('error', (err: Error) => fail(err.message));
    parser.on('close', () => {
      if (!failed) resolve(params);
    });
    parser.end(body);
  });
}

export async function requestParameters(req: IncomingMessage, body: Buffer): Promise<WireParameter[]> {
  const mime = mimeType(req);
  if (isForm(mime)) return parseForm(req, body);
  return [{ name: 'body', contentType: mime, value: body }];
}
