/**
 * KServe v2 / Open Inference Protocol over gRPC: `org.pytorch.serve.grpc.openinference.GRPCInferenceService`
 * of TorchServe's `open_inference_grpc.proto` (its OpenInferenceProtocolImpl), on the gRPC inference
 * listener with the inference token, as TorchServe registers it. The answers are the REST OIP routes'
 * (src/inference/oip.ts):
 *
 * - ServerLive, ServerReady (the `/ping` health), ServerMetadata;
 * - ModelReady, ModelMetadata: NOT_FOUND for an unknown model or version, INTERNAL
 *   "Parameter … is required." without a name, as TorchServe;
 * - ModelInfer: the inputs (contents or raw_input_contents) are read and validated first
 *   (INVALID_ARGUMENT). The built-in text_classifier without an envelope classifies each UTF-8 text of
 *   its BYTES input; any other model gets TorchServe's JSON body `{"id", "model_name", "inputs"}` (BYTES
 *   elements base64-encoded, as TorchServe sends them), and its handler's OIP answer (the kservev2
 *   envelope's) is returned as a ModelInferResponse.
 */
import { randomUUID } from 'node:crypto';
import { status as Code, type sendUnaryData, type ServerUnaryCall, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { parseInferenceRequest, TensorError, type InferenceRequest } from '../envelopes/tensor.js';
import { BadRequestException, ServeError } from '../errors.js';
import { nameLengthProblem } from '../config/limits.js';
import { classifyTexts, isModelReady, modelMetadata, OipError, serverMetadata, speaksOip } from '../inference/oip.js';
import { submitPrediction, type Submission } from '../inference/submit.js';
import { checkToken } from './auth.js';
import type { GrpcDeps } from './deps.js';
import { inferResponse, inputTensors, OutputTensorError, type ModelInferRequest, type ModelInferResponse } from './oip-tensors.js';
import { grpcCode, grpcError, javaClassName, MissingParameter, serveErrorToGrpc } from './status.js';

interface ModelRequest {
  name: string;
  version: string;
}

/** How the errors of this service leave it: TorchServe's description, message + `\n` + Java class. */
function toStatus(err: unknown): Partial<ServiceError> {
  if (err instanceof TensorError) return grpcError(Code.INVALID_ARGUMENT, `${err.message}\n${javaClassName('BadRequestException')}`);
  if (err instanceof OipError) {
    const type = err.status < 500 ? 'BadRequestException' : 'InternalServerException';
    return grpcError(grpcCode(err.status), `${err.message}\n${javaClassName(type)}`);
  }
  if (err instanceof ServeError) return serveErrorToGrpc(err);
  const message = err instanceof OutputTensorError ? err.message : `Internal error: ${err instanceof Error ? err.message : String(err)}`;
  return grpcError(Code.INTERNAL, `${message}\n${javaClassName('InternalServerException')}`);
}

type Method<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** A unary method behind the inference token; `run`'s errors are answered with their status. */
function unary<Req, Res>(deps: GrpcDeps, run: (req: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>): Method<Req, Res> {
  return (call, callback) => {
    const denied = checkToken(deps.tokens, 'inference', call.metadata);
    if (denied) return callback(denied);
    void (async () => run(call.request, call))().then(
      (res) => !call.cancelled && callback(null, res),
      (err: unknown) => !call.cancelled && callback(toStatus(err)),
    );
  };
}

/** Settles the call's jobs: cancelled if the client leaves; `done(status)` counts them once it is answered. */
function track(call: ServerUnaryCall<unknown, unknown>, submissions: Submission[]): (status: number | null) => void {
  let reported = false;
  const done = (status: number | null): void => {
    if (reported) return;
    reported = true;
    for (const s of submissions) {
      if (status === null) s.job.cancelled = true;
      s.finished(status);
    }
  };
  call.once('cancelled', () => done(null));
  return done;
}

/** model_name / name and version, checked as every other entry point checks them. */
function target(name: string, version: string, missing: 'model_name' | 'name'): { name: string; version: string | null } {
  if (!name) throw new MissingParameter(missing);
  const problem = nameLengthProblem('Model name', name) ?? nameLengthProblem('Model version', version);
  if (problem) throw new BadRequestException(problem);
  return { name, version: version || null };
}

/** The handler's answer (a JSON OIP response, or its error status and body) as a ModelInferResponse. */
function handlerAnswer(status: number, body: Uint8Array): ModelInferResponse {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    if (status < 400) throw new OutputTensorError('The handler did not answer JSON: an Open Inference Protocol response was expected');
  }
  if (status >= 400) {
    const said = (json as { error?: unknown; message?: unknown } | null) ?? {};
    const message = typeof said.error === 'string' ? said.error : typeof said.message === 'string' ? said.message : text;
    throw new OipError(status, message);
  }
  return inferResponse(json);
}

/** TorchServe's pass-through: the request as kservev2 JSON to the handler, its answer back as a message. */
async function passThrough(deps: GrpcDeps, call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>, model: string, version: string | null, req: InferenceRequest): Promise<ModelInferResponse> {
  const body = {
    // A blank id is left out, so that the envelope answers with the request id (TorchServe's `id.strip()`).
    ...(req.id?.trim() ? { id: req.id } : {}),
    model_name: model,
    inputs: req.inputs.map(({ name, shape, datatype, data }) => ({ name, shape, datatype, data })),
  };
  const request = {
    requestId: randomUUID(),
    headers: {},
    parameters: [{ name: 'body', contentType: 'application/json', value: Buffer.from(JSON.stringify(body), 'utf8') }],
  };
  const submission = submitPrediction(deps, model, version, request);
  const done = track(call, [submission]);
  const outcome = await submission.outcome;
  done(outcome.ok ? outcome.response.status : outcome.error.status);
  if (!outcome.ok) throw outcome.error;
  return handlerAnswer(outcome.response.status, outcome.response.body);
}

async function modelInfer(deps: GrpcDeps, req: ModelInferRequest, call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>): Promise<ModelInferResponse> {
  const t = target(req.model_name, req.model_version, 'model_name');
  const mv = deps.manager.registry.get(t.name, t.version);
  const text = speaksOip(deps, mv);
  const request = parseInferenceRequest({
    ...(req.id ? { id: req.id } : {}),
    inputs: inputTensors(req, text ? 'text' : 'base64'),
    ...(req.outputs?.length ? { outputs: req.outputs.map((o) => ({ name: o.name })) } : {}),
  });
  if (!text) return passThrough(deps, call, t.name, t.version, request);
  const run = classifyTexts(deps, mv, t.version, request, {}, randomUUID());
  const done = track(call, run.submissions);
  try {
    const answer = await run.response;
    done(200);
    return inferResponse(answer);
  } catch (err) {
    done(err instanceof OipError ? err.status : 500);
    throw err;
  }
}

export function oipService(deps: GrpcDeps): UntypedServiceImplementation {
  return {
    ServerLive: unary(deps, () => ({ live: true })),
    ServerReady: unary(deps, () => ({ ready: deps.manager.isHealthy() })),
    ServerMetadata: unary(deps, () => serverMetadata()),
    ModelReady: unary(deps, (req: ModelRequest) => {
      const t = target(req.name, req.version, 'name');
      return { ready: isModelReady(deps.manager.registry.get(t.name, t.version)) };
    }),
    ModelMetadata: unary(deps, (req: ModelRequest) => {
      const t = target(req.name, req.version, 'model_name');
      return modelMetadata(deps, deps.manager.registry.get(t.name, t.version));
    }),
    ModelInfer: unary(deps, (req: ModelInferRequest, call) => modelInfer(deps, req, call)),
  };
}
