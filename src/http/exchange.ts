import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenStore } from '../auth/token-store.js';
import type { ServerConfig } from '../config/types.js';
import type { ServerMetrics } from '../metrics/hooks.js';
import type { ModelManager } from '../registry/model-manager.js';

/** What the HTTP layer needs from the rest of the server. */
export interface HttpDeps {
  config: ServerConfig;
  manager: ModelManager;
  /** null when token authorization is disabled. */
  tokens: TokenStore | null;
  /** Request counters and latencies (src/metrics); NO_METRICS when not measured. */
  metrics: ServerMetrics;
}

/** One request on its way through the route chain. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  method: string;
  /** The path split on `/` as Java's String.split does it: `segments[0]` is "", trailing empties dropped. */
  segments: string[];
  query: URLSearchParams;
  /**
   * The body, read (within max_request_size) the first time a route asks for it. Nothing reads it before
   * the token and the route were checked, so a request that is refused is answered from its headers alone
   * and its body is never buffered (issue 13). Rejects with raw-body's typed errors (body.ts).
   */
  readBody(): Promise<Buffer>;
}

/** `"/a/b/".split("/")` in Java: `["", "a", "b"]`; `"/"` gives `[]`. */
export function splitPath(pathname: string): string[] {
  const parts = pathname.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}
