/**
 * Every gRPC call in access_log.log and in Requests2XX/4XX/5XX, as HTTP requests are. The access line is
 * TorchServe's (its GRPCInterceptor and Session): `/<ip>:<port> "gRPC <service>/<method> HTTP/2.0" <code> <ms>`
 * with the gRPC status code. For the request counters a status code is read as the HTTP status gRPC
 * gateways give it (OK → 200, NOT_FOUND → 404, INTERNAL → 500 …).
 */
import { ServerInterceptingCall, status as Code, type ServerInterceptor } from '@grpc/grpc-js';
import type { AccessEvent } from '../logging/format.js';
import type { ServerMetrics } from '../metrics/hooks.js';

const HTTP_STATUS: Record<number, number> = {
  [Code.OK]: 200,
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.DATA_LOSS]: 500,
  [Code.UNAUTHENTICATED]: 401,
};

export function httpStatusOf(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/** `access` writes one access line (null: no access log); `metrics` counts the call. */
export function accessInterceptor(metrics: ServerMetrics, access: ((event: AccessEvent) => void) | null): ServerInterceptor {
  return (method, call) => {
    const start = performance.now();
    const time = new Date();
    return new ServerInterceptingCall(call, {
      sendStatus(status, next) {
        metrics.response(httpStatusOf(status.code));
        access?.({
          time,
          remote: `/${call.getPeer()}`,
          method: 'gRPC',
          path: method.path.replace(/^\//, ''),
          protocol: 'HTTP/2.0',
          status: status.code,
          durationMs: performance.now() - start,
          requestId: null,
        });
        next(status);
      },
    });
  };
}
