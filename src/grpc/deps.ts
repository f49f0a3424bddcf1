import type { TokenStore } from '../auth/token-store.js';
import type { ServerConfig } from '../config/types.js';
import type { AccessEvent } from '../logging/format.js';
import type { ServerMetrics } from '../metrics/hooks.js';
import type { ModelManager } from '../registry/model-manager.js';

/** What the gRPC services need from the rest of the server (the same parts as the HTTP layer's). */
export interface GrpcDeps {
  config: ServerConfig;
  manager: ModelManager;
  /** null when token authorization is disabled. */
  tokens: TokenStore | null;
  metrics: ServerMetrics;
  /** Writes one access_log.log line (the server's logs); absent: calls are only counted. */
  access?: (event: AccessEvent) => void;
}
