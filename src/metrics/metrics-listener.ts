/**
 * The metrics API's request listener (spec §4.1): `/metrics` with any method, no token, repeated
 * `name[]` filters; `OPTIONS /` and `/api-description` answer its API description, as TorchServe's
 * metrics listener does; every other path gets TorchServe's generic 404. Its responses count in
 * Requests2XX/4XX/5XX like those of the other listeners.
 *
 * Bound to loopback, it also refuses (403) a request whose Host header names anything but a loopback
 * address or `localhost`: a web page can make a browser on this machine resolve its own domain to
 * 127.0.0.1 (DNS rebinding) and read /metrics, which tells about other clients' predictions; such a
 * request still carries the page's domain in Host. A request without Host (not a browser) is served.
 */
import type { IncomingMessage, RequestListener } from 'node:http';
import { isIP } from 'node:net';
import { ForbiddenException, MESSAGES, ResourceNotFoundException } from '../errors.js';
import { metricsApi } from '../http/openapi.js';
import { sendError, sendJson } from '../http/respond.js';
import { METRICS_CONTENT_TYPE, type ServerMetricsImpl } from './server-metrics.js';

/** A host name or address without brackets, lower case. */
function bare(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

/** True for `localhost` and loopback addresses (127.0.0.0/8, ::1). */
function isLoopback(host: string): boolean {
  const h = bare(host);
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return isIP(h) === 6 && (h === '::1' || h === '0:0:0:0:0:0:0:1');
}

/** The host of a Host header (`name`, `name:port`, `[v6]:port`), or null without one. */
function hostOf(req: IncomingMessage): string | null {
  const header = req.headers.host;
  if (header === undefined) return null;
  const v6 = /^\[([^\]]*)\](?::\d*)?$/.exec(header);
  if (v6) return v6[1]!;
  const colon = header.lastIndexOf(':');
  return colon < 0 ? header : header.slice(0, colon);
}

/** `bindHost`: the metrics address's host; the Host check applies when it is a loopback one. */
export function createMetricsListener(metrics: ServerMetricsImpl, bindHost: string): RequestListener {
  const checkHost = isLoopback(bindHost);
  return (req, res) => {
    res.sendDate = false;
    res.once('finish', () => metrics.response(res.statusCode));
    const host = checkHost ? hostOf(req) : null;
    if (host !== null && !isLoopback(host)) {
      sendError(res, new ForbiddenException(`Host ${host} is not this loopback listener's address: refused (DNS rebinding protection)`));
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if ((path === '/' && req.method === 'OPTIONS') || path === '/api-description') {
      sendJson(res, 200, metricsApi());
      return;
    }
    if (path !== '/metrics') {
      sendError(res, new ResourceNotFoundException(MESSAGES.notFoundRoute));
      return;
    }
    const names = new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).getAll('name[]');
    metrics.exposition(names).then(
      (body) => {
        res.statusCode = 200;
        res.setHeader('Content-Type', METRICS_CONTENT_TYPE);
        res.end(body);
      },
      (err: unknown) => sendError(res, err),
    );
  };
}
