/**
 * Token authorization on the gRPC APIs (spec §3, TorchServe's GRPCInterceptor): metadata
 * `authorization: Bearer <key>`, the inference key on the inference service and the management key on the
 * management service. A missing or wrong key ends the call with PERMISSION_DENIED and TorchServe's message
 * (no class name), before the method runs.
 */
import { status as Code, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { TokenKind, TokenStore } from '../auth/token-store.js';
import { MESSAGES } from '../errors.js';
import { grpcError } from './status.js';

/** null when the call may go on; the status to end it with otherwise. */
export function checkToken(tokens: TokenStore | null, kind: TokenKind, metadata: Metadata): Partial<ServiceError> | null {
  if (!tokens) return null;
  const value = metadata.get('authorization')[0];
  if (typeof value === 'string' && tokens.check(kind, value)) return null;
  return grpcError(Code.PERMISSION_DENIED, MESSAGES.invalidToken);
}
