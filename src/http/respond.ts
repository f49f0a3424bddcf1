/** How every response leaves ortserve: TorchServe's standard headers, JSON style and error shape (spec §0, §1.5). */
import type { ServerResponse } from 'node:http';
import type { ServerConfig } from '../config/types.js';
import { toServeError } from '../errors.js';
import type { WireResponse } from '../workers/messages.js';

/** Headers TorchServe puts on every response; `x-request-id` is set per request. */
export function setStandardHeaders(res: ServerResponse, requestId: string, config: ServerConfig): void {
  res.setHeader('x-request-id', requestId);
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Cache-Control', 'no-cache; no-store, must-revalidate, private');
  res.setHeader('Expires', 'Thu, 01 Jan 1970 00:00:00 UTC');
  if (config.corsAllowedOrigin) res.setHeader('Access-Control-Allow-Origin', config.corsAllowedOrigin);
  if (config.corsAllowedMethods) res.setHeader('Access-Control-Allow-Methods', config.corsAllowedMethods);
  if (config.corsAllowedHeaders) res.setHeader('Access-Control-Allow-Headers', config.corsAllowedHeaders);
}

/** Gson pretty printing as TorchServe's frontend writes JSON: 2-space indent and a trailing newline. */
export function prettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function finish(res: ServerResponse, status: number, body: Buffer | string, contentType: string | null): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.statusCode = status;
  if (contentType !== null) res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', buf.length);
  // TorchServe closes the connection after every error response.
  if (status >= 400) res.setHeader('Connection', 'close');
  res.end(buf);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  finish(res, status, prettyJson(value), 'application/json');
}

export function sendStatus(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { status: message });
}

/** `{"code", "type", "message"}` with the error's status. */
export function sendError(res: ServerResponse, err: unknown): void {
  const e = toServeError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.status, { code: e.status, type: e.type, message: e.message });
}

/** A handler's answer: its status, its headers, a Content-Type only if the handler set one. */
export function sendPrediction(res: ServerResponse, r: WireResponse): void {
  for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
  if (r.phrase) res.statusMessage = r.phrase;
  const contentType = r.contentType ?? null;
  finish(res, r.status, Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength), contentType);
}

/** Netty's answer to an oversized request: 413, empty body, connection closed. */
export function sendTooLarge(res: ServerResponse): void {
  finish(res, 413, '', null);
}
