/**
 * `org.pytorch.serve.grpc.inference.InferenceAPIsService` (spec §9, TorchServe's InferenceImpl and GRPCJob):
 * Ping, Predictions, StreamPredictions and StreamPredictions2, each prediction queued through
 * `submitPrediction` like a REST one.
 */
import { randomUUID } from 'node:crypto';
import {
  status as Code,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { toServeError } from '../errors.js';
import { submitPrediction, type Submission } from '../inference/submit.js';
import type { WireRequest, WireResponse } from '../workers/messages.js';
import { checkToken } from './auth.js';
import type { GrpcDeps } from './deps.js';
import { grpcCode, javaClassName, MissingParameter, serveErrorToGrpc } from './status.js';

export interface PredictionsRequest {
  model_name: string;
  model_version: string;
  input: Record<string, Buffer>;
  sequence_id?: string;
}

interface RpcStatus {
  code: number;
  message: string;
  details: Array<{ type_url: string; value: Buffer }>;
}

export interface PredictionResponse {
  prediction: Buffer;
  sequence_id?: string;
  status?: RpcStatus;
}

function bytes(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** The input map's entries are the handler's parameters, with no content type (so they arrive as bytes). */
function wireRequest(req: PredictionsRequest): WireRequest {
  return {
    requestId: randomUUID(),
    headers: {},
    parameters: Object.entries(req.input ?? {}).map(([name, value]) => ({ name, contentType: null, value })),
  };
}

/** Queues one request; throws the server's errors (404s, 503s) and MissingParameter. */
function submit(deps: GrpcDeps, req: PredictionsRequest): Submission & { done(status: number | null): void } {
  if (!req.model_name) throw new MissingParameter('model_name');
  const sub = submitPrediction(deps, req.model_name, req.model_version || null, wireRequest(req));
  let reported = false;
  return {
    ...sub,
    done(status) {
      if (reported) return;
      reported = true;
      sub.finished(status);
    },
  };
}

/**
 * Runs one prediction and hands every part to `onPart` (intermediate parts of a streaming handler first,
 * then the final answer). Resolves with null when it succeeded, or the failure.
 */
async function predictParts(
  deps: GrpcDeps,
  req: PredictionsRequest,
  onCancel: (cb: () => void) => void,
  onPart: ((part: WireResponse) => void) | null,
): Promise<{ final: WireResponse } | { error: unknown }> {
  let sub: ReturnType<typeof submit>;
  try {
    sub = submit(deps, req);
  } catch (error) {
    return { error };
  }
  onCancel(() => {
    sub.job.cancelled = true;
    sub.done(null);
  });
  if (onPart) sub.job.onIntermediate(onPart);
  const outcome = await sub.outcome;
  sub.done(outcome.ok ? outcome.response.status : outcome.error.status);
  return outcome.ok ? { final: outcome.response } : { error: outcome.error };
}

/** google.rpc.Status with one google.rpc.ErrorInfo{reason} detail, as StreamPredictions2 reports errors. */
function rpcStatus(err: unknown): RpcStatus {
  let code: number;
  let message: string;
  let reason: string;
  if (err instanceof MissingParameter) {
    [code, message, reason] = [Code.INTERNAL, err.message, 'BadRequestException.()'];
  } else {
    const e = toServeError(err);
    [code, message, reason] = [grpcCode(e.status), e.message, javaClassName(e.type)];
  }
  // ErrorInfo { string reason = 1; }, encoded by hand: tag 0x0a, varint length, UTF-8 bytes.
  const text = Buffer.from(reason, 'utf8');
  const len: number[] = [];
  for (let n = text.length; ; n >>>= 7) {
    if (n < 0x80) {
      len.push(n);
      break;
    }
    len.push((n & 0x7f) | 0x80);
  }
  const value = Buffer.concat([Buffer.from([0x0a, ...len]), text]);
  return { code, message, details: [{ type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value }] };
}

export function inferenceService(deps: GrpcDeps): UntypedServiceImplementation {
  return {
    Ping(call: ServerUnaryCall<unknown, { health: string }>, callback: sendUnaryData<{ health: string }>) {
      const denied = checkToken(deps.tokens, 'inference', call.metadata);
      if (denied) return callback(denied);
      // GSON_PRETTY_EXPOSED.toJson(StatusResponse): pretty, no trailing newline, status only.
      const status = deps.manager.isHealthy() ? 'Healthy' : 'Unhealthy';
      callback(null, { health: JSON.stringify({ status }, null, 2) });
    },

    Predictions(call: ServerUnaryCall<PredictionsRequest, PredictionResponse>, callback: sendUnaryData<PredictionResponse>) {
      const denied = checkToken(deps.tokens, 'inference', call.metadata);
      if (denied) return callback(denied);
      // A streaming handler's intermediate parts are not sent on a unary call: the answer is the final part.
      void predictParts(deps, call.request, (cb) => call.once('cancelled', cb), null).then((r) => {
        if (call.cancelled) return;
        if ('final' in r) callback(null, { prediction: bytes(r.final.body) });
        else callback(serveErrorToGrpc(r.error));
      });
    },

    StreamPredictions(call: ServerWritableStream<PredictionsRequest, PredictionResponse>) {
      const denied = checkToken(deps.tokens, 'inference', call.metadata);
      if (denied) return void call.emit('error', denied);
      const write = (part: WireResponse): void => {
        if (!call.cancelled) call.write({ prediction: bytes(part.body) });
      };
      void predictParts(deps, call.request, (cb) => call.once('cancelled', cb), write).then((r) => {
        if (call.cancelled) return;
        if ('final' in r) {
          write(r.final);
          call.end();
        } else {
          call.emit('error', serveErrorToGrpc(r.error));
        }
      });
    },

    /**
     * Bidirectional: each request is predicted in arrival order, its parts written as they come, each
     * response carrying the request's sequence_id. A failed request answers with a `status` message and
     * the stream goes on; the stream ends once the client has ended its side and every request is answered.
     */
    StreamPredictions2(call: ServerDuplexStream<PredictionsRequest, PredictionResponse>) {
      const denied = checkToken(deps.tokens, 'inference', call.metadata);
      if (denied) return void call.emit('error', denied);
      const cancelHooks: Array<() => void> = [];
      call.once('cancelled', () => cancelHooks.splice(0).forEach((cb) => cb()));
      let chain: Promise<void> = Promise.resolve();
      call.on('data', (req: PredictionsRequest) => {
        const sequenceId = req.sequence_id ?? '';
        const send = (msg: Omit<PredictionResponse, 'sequence_id'>): void => {
          if (!call.cancelled) call.write({ ...msg, sequence_id: sequenceId });
        };
        chain = chain.then(async () => {
          if (call.cancelled) return;
          if (!sequenceId.trim()) {
            send({ prediction: Buffer.alloc(0), status: rpcStatus(new MissingParameter('sequenceId')) });
            return;
          }
          const r = await predictParts(deps, req, (cb) => cancelHooks.push(cb), (part) => send({ prediction: bytes(part.body) }));
          if ('final' in r) send({ prediction: bytes(r.final.body) });
          else send({ prediction: Buffer.alloc(0), status: rpcStatus(r.error) });
        });
      });
      call.once('end', () => {
        void chain.then(() => {
          if (!call.cancelled) call.end();
        });
      });
    },
  };
}
