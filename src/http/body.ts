/** Reads a request body into one Buffer, within `max_request_size`, with raw-body (Express's own reader). */
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';

const EMPTY = Buffer.alloc(0);

/**
 * A body that could not be read. `type` is raw-body's: `entity.too.large` (declared or streamed size over
 * the limit), `request.aborted`, `request.size.invalid` (fewer bytes than Content-Length), … Routes let it
 * through to app.ts, which answers it (413, a closed connection, or an error JSON).
 */
export class BodyReadError extends Error {
  /** raw-body's HTTP status for it (413, 400), 400 when it gave none. */
  readonly status: number;

  constructor(
    readonly type: string,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'BodyReadError';
    const status = (cause as { status?: unknown } | null)?.status;
    this.status = typeof status === 'number' ? status : 400;
  }
}

/** The whole body, or a BodyReadError. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Node's parser gives a request without Content-Length or Transfer-Encoding no body at all.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return EMPTY;
  }
  try {
    return await getRawBody(req, { length: req.headers['content-length'] ?? null, limit });
  } catch (err) {
    throw new BodyReadError((err as { type?: unknown } | null)?.type === undefined ? 'unknown' : String((err as { type: unknown }).type), err);
  }
}
