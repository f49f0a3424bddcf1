/**
 * Every error a client can see. Each class is named after the Java exception TorchServe reports in the
 * `type` field of its error body, and carries the HTTP status TorchServe maps it to
 * (HttpRequestHandler; spec §2.7). This file is the one place where errors meet HTTP statuses.
 */
export class ServeError extends Error {
  /** HTTP status code sent to the client. */
  readonly status: number;
  /** The `type` field of TorchServe's error body (a Java simple class name). */
  readonly type: string;

  constructor(type: string, status: number, message: string) {
    super(message);
    this.type = type;
    this.status = status;
    this.name = type;
  }
}

function errorClass(type: string, status: number) {
  return class extends ServeError {
    constructor(message: string) {
      super(type, status, message);
    }
  };
}

export class ResourceNotFoundException extends errorClass('ResourceNotFoundException', 404) {}
export class ModelNotFoundException extends errorClass('ModelNotFoundException', 404) {}
export class ModelVersionNotFoundException extends errorClass('ModelVersionNotFoundException', 404) {}
export class BadRequestException extends errorClass('BadRequestException', 400) {}
export class InvalidModelException extends errorClass('InvalidModelException', 400) {}
export class InvalidKeyException extends errorClass('InvalidKeyException', 400) {}
export class DownloadArchiveException extends errorClass('DownloadArchiveException', 400) {}
export class ConflictStatusException extends errorClass('ConflictStatusException', 409) {}
export class RequestTimeoutException extends errorClass('RequestTimeoutException', 408) {}
export class MethodNotAllowedException extends errorClass('MethodNotAllowedException', 405) {}
export class ServiceUnavailableException extends errorClass('ServiceUnavailableException', 503) {}
export class InvalidModelVersionException extends errorClass('InvalidModelVersionException', 403) {}
/** ortserve-only: a request refused for where it comes from (the metrics listener's Host check). */
export class ForbiddenException extends errorClass('ForbiddenException', 403) {}

/**
 * What TorchServe answers `PUT /models/{m}?min_worker=-1` (its WorkLoadManager removes worker -1 from an
 * emptied list; its own API tests expect this 500). ortserve answers the same but refuses before
 * touching any worker.
 */
export class IndexOutOfBoundsException extends errorClass('IndexOutOfBoundsException', 500) {}

/** TorchServe's catch-all; its status varies (500 by default, 503 for handler failures, 507 for OOM …). */
export class InternalServerException extends ServeError {
  constructor(message: string, status = 500) {
    super('InternalServerException', status, message);
  }
}

/** Turns anything thrown into a ServeError; unknown errors become a 500 that hides internals. */
export function toServeError(err: unknown): ServeError {
  if (err instanceof ServeError) return err;
  return new InternalServerException(err instanceof Error ? err.message : String(err));
}

export const MESSAGES = {
  notFoundRoute: 'Requested resource is not found, please refer to API document.',
  methodNotAllowed: 'Requested method is not allowed, please refer to API document.',
  invalidToken: 'Token Authorization failed. Token either incorrect, expired, or not provided correctly',
  invalidTokenRefresh: 'Token Authentication failed. Token either incorrect, expired, or not provided correctly',
  predictionFailed: 'Prediction failed',
  workerDied: 'Worker died.',
} as const;
