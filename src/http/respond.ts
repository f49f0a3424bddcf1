/** How every response leaves ortserve: TorchServe's standard headers, JSON style and error shape (spec §0, §1.5). */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { ServerConfig } from '../config/types.js';
import { toServeError } from '../errors.js';
import type { WireResponse } from '../workers/messages.js';

/**
 * Headers TorchServe puts on every response (NettyUtils.sendHttpResponse); `x-request-id` is per request.
 * The CORS headers come from config; a handler's own value replaces them (its headers are set later).
 */
export function standardHeaders(requestId: string, config: ServerConfig): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ['x-request-id', requestId],
    ['Pragma', 'no-cache'],
    ['Cache-Control', 'no-cache; no-store, must-revalidate, private'],
    ['Expires', 'Thu, 01 Jan 1970 00:00:00 UTC'],
  ];
  if (config.corsAllowedOrigin) out.push(['Access-Control-Allow-Origin', config.corsAllowedOrigin]);
  if (config.corsAllowedMethods) out.push(['Access-Control-Allow-Methods', config.corsAllowedMethods]);
  if (config.corsAllowedHeaders) out.push(['Access-Control-Allow-Headers', config.corsAllowedHeaders]);
  return out;
}

export function setStandardHeaders(res: ServerResponse, requestId: string, config: ServerConfig): void {
  for (const [k, v] of standardHeaders(requestId, config)) res.setHeader(k, v);
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

/**
 * A handler's answer: its status, its headers, a Content-Type only if the handler set one. After
 * intermediate parts (sendPredictionPart), the answer is the stream's last chunk, then its end.
 */
export function sendPrediction(res: ServerResponse, r: WireResponse): void {
  if (res.headersSent) {
    if (!res.destroyed && !res.writableEnded) res.end(bodyOf(r));
    return;
  }
  for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
  if (r.phrase) res.statusMessage = r.phrase;
  const contentType = r.contentType ?? null;
  finish(res, r.status, bodyOf(r), contentType);
}

function bodyOf(r: WireResponse): Buffer {
  return Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
}

/**
 * One intermediate part of a streamed answer (spec §1.6, TorchServe's RestJob): the first part sends
 * the status line and headers at once, with its own status, reason, Content-Type if set, its headers
 * (`ts_stream_next: true` among them), `Transfer-Encoding: chunked` and the standard headers; each
 * part's bytes are one chunk. sendPrediction then sends the last chunk and the terminator.
 */
export function sendPredictionPart(res: ServerResponse, r: WireResponse): void {
  if (res.destroyed || res.writableEnded) return;
  if (!res.headersSent) {
    for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
    if (r.phrase) res.statusMessage = r.phrase;
    res.statusCode = r.status;
    if (r.contentType !== null) res.setHeader('Content-Type', r.contentType);
    if (r.status >= 400) res.setHeader('Connection', 'close');
    res.setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
  }
  // An empty chunk would read as the end of the body: an empty part sends nothing.
  if (r.body.byteLength > 0) res.write(bodyOf(r));
}

/**
 * A streamed answer whose handler failed, or whose worker died, after some parts: the status line is
 * gone, so the chunked body is ended cleanly (what was sent stays a well-formed answer) and the error
 * is logged.
 */
export function endPredictionAfterError(res: ServerResponse, err: unknown, requestId: string): void {
  const e = toServeError(err);
  console.error(`[request ${requestId}] stream ended early: ${e.status} ${e.message}`);
  if (!res.destroyed && !res.writableEnded) res.end();
}

/** Netty's answer to an oversized request: 413, empty body, connection closed. */
export function sendTooLarge(res: ServerResponse): void {
  finish(res, 413, '', null);
}

/**
 * The answer to a CORS preflight when CORS is configured: 200, no body; the CORS headers are already on
 * `res` (setStandardHeaders).
 */
export function sendPreflight(res: ServerResponse): void {
  finish(res, 200, '', null);
}

/**
 * A whole HTTP/1.1 error response as bytes, for a socket on which Node's parser gave up (no
 * ServerResponse exists): the standard headers, the error JSON, `Connection: close`.
 */
export function rawErrorResponse(err: unknown, requestId: string, config: ServerConfig): string {
  const e = toServeError(err);
  const body = prettyJson({ code: e.status, type: e.type, message: e.message });
  const lines = [
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}`,
    ...standardHeaders(requestId, config).map(([k, v]) => `${k}: ${v}`),
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
