/**
 * How errors leave the gRPC APIs (spec §9, TorchServe's GRPCUtils and *Impl classes): the HTTP status of
 * the error becomes a gRPC status code, and the description is the message, `\n`, then the Java class
 * name of the exception (its canonical name, as `Status.augmentDescription(e.getClass().getCanonicalName())`).
 */
import { Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import { BadRequestException, toServeError, type ServeError } from '../errors.js';

/** GRPCUtils.getGRPCStatusCode. */
export function grpcCode(httpStatus: number): Code {
  switch (httpStatus) {
    case 400:
      return Code.INVALID_ARGUMENT;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.NOT_FOUND;
    case 409:
      return Code.ABORTED;
    case 413:
    case 429:
      return Code.RESOURCE_EXHAUSTED;
    case 416:
      return Code.OUT_OF_RANGE;
    case 499:
      return Code.CANCELLED;
    case 501:
      return Code.UNIMPLEMENTED;
    case 503:
      return Code.UNAVAILABLE;
    case 504:
      return Code.DEADLINE_EXCEEDED;
    default:
      if (httpStatus >= 200 && httpStatus < 300) return Code.OK;
      if (httpStatus >= 400 && httpStatus < 500) return Code.FAILED_PRECONDITION;
      if (httpStatus >= 500 && httpStatus < 600) return Code.INTERNAL;
      return Code.UNKNOWN;
  }
}

/** The Java packages of TorchServe's exceptions (frontend/archive and frontend/server). */
const ARCHIVE_MODEL = new Set(['ModelNotFoundException', 'ModelVersionNotFoundException', 'InvalidModelException', 'InvalidKeyException', 'ModelException']);

/** `e.getClass().getCanonicalName()` for a ServeError's type. */
export function javaClassName(type: string): string {
  if (ARCHIVE_MODEL.has(type)) return `org.pytorch.serve.archive.model.${type}`;
  if (type === 'DownloadArchiveException') return `org.pytorch.serve.archive.${type}`;
  return `org.pytorch.serve.http.${type}`;
}

/** A status for `callback(err)` / `call.emit('error', err)`. */
export function grpcError(code: Code, details: string): Partial<ServiceError> {
  return { code, details, metadata: new Metadata() };
}

/**
 * A missing required field (model_name, name, sequence_id): TorchServe answers INTERNAL (not
 * INVALID_ARGUMENT), tagged `BadRequestException.()` instead of a class name.
 */
export class MissingParameter extends BadRequestException {
  constructor(parameter: 'model_name' | 'name' | 'sequenceId') {
    super(`Parameter ${parameter} is required.`);
  }
}

/** Any error of the server as TorchServe's gRPC frontend reports it. */
export function serveErrorToGrpc(err: unknown): Partial<ServiceError> {
  if (err instanceof MissingParameter) return grpcError(Code.INTERNAL, `${err.message}\nBadRequestException.()`);
  const e: ServeError = toServeError(err);
  return grpcError(grpcCode(e.status), `${e.message}\n${javaClassName(e.type)}`);
}
