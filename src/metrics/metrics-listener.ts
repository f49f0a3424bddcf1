/**
 * The metrics API's request listener (spec §4.1): `/metrics` with any method, no token, repeated
 * `name[]` filters; `OPTIONS /` and `/api-description` answer its API description, as TorchServe's
 * metrics listener does; every other path gets TorchServe's generic 404. Its responses count in
 * Requests2XX/4XX/5XX like those of the other listeners.
 */
import type { RequestListener } from 'node:http';
import { MESSAGES, ResourceNotFoundException } from '../errors.js';
import { metricsApi } from '../http/openapi.js';
import { sendError, sendJson } from '../http/respond.js';
import { METRICS_CONTENT_TYPE, type ServerMetricsImpl } from './server-metrics.js';

export function createMetricsListener(metrics: ServerMetricsImpl): RequestListener {
  return (req, res) => {
    res.sendDate = false;
    res.once('finish', () => metrics.response(res.statusCode));
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
