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
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) out[req.rawHeaders[i]!] = req.rawHeaders[i + 1]!;
  return out;
}

function isForm(mime: string | null): boolean {
  return mime === 'multipart/form-data' || mime === 'application/x-www-form-urlencoded';
}

function parseForm(req: IncomingMessage, body: Buffer): Promise<WireParameter[]> {
  return new Promise((resolve, reject) => {
    const params: WireParameter[] = [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8' });
    } catch (err) {
      reject(new BadRequestException(`Invalid form data: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    parser.on('field', (name, value) => params.push({ name, contentType: null, value: Buffer.from(value, 'utf8') }));
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => params.push({ name, contentType: info.mimeType || null, value: Buffer.concat(chunks) }));
    });
    parser.on('error', (err: Error) => reject(new BadRequestException(`Invalid form data: ${err.message}`)));
    parser.on('close', () => resolve(params));
    parser.end(body);
  });
}

export async function requestParameters(req: IncomingMessage, body: Buffer): Promise<WireParameter[]> {
  const mime = mimeType(req);
  if (isForm(mime)) return parseForm(req, body);
  return [{ name: 'body', contentType: mime, value: body }];
}
