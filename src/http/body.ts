/** Reads a request body into one Buffer, within `max_request_size`, with raw-body (Express's own reader). */
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';

const EMPTY = Buffer.alloc(0);

/**
 * The whole body. Rejects with raw-body's typed errors: `entity.too.large` (declared or streamed size
 * over `limit`), `request.aborted`, `request.size.invalid` (fewer bytes than Content-Length).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Node's parser gives a request without Content-Length or Transfer-Encoding no body at all.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  return getRawBody(req, { length: req.headers['content-length'] ?? null, limit });
}
