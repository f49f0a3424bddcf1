/**
 * `org.pytorch.serve.grpc.management.ManagementAPIsService` (spec §9, TorchServe's ManagementImpl): the
 * REST management operations (ModelManager, describeModels, listModels) behind proto messages. `msg` is
 * the text REST puts in `status`, or the JSON REST returns for describe and list (Gson pretty printing,
 * without the trailing newline the HTTP body adds). Zero or empty fields mean "use the default".
 */
import {
  status as Code,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { BadRequestException } from '../errors.js';
import type { ApiResult } from '../registry/model-manager.js';
import { listModels } from '../registry/describe.js';
import { registerInt } from '../registry/settings.js';
import { describeModels } from '../registry/describe-models.js';
import { checkToken } from './auth.js';
import type { GrpcDeps } from './deps.js';
import { grpcCode, grpcError, javaClassName, serveErrorToGrpc } from './status.js';

interface ManagementResponse {
  msg: string;
}

interface DescribeModelRequest {
  model_name: string;
  model_version: string;
  customized: boolean;
}

interface ListModelsRequest {
  limit: number;
  next_page_token: number;
}

interface RegisterModelRequest {
  batch_size: number;
  handler: string;
  initial_workers: number;
  max_batch_delay: number;
  model_name: string;
  response_timeout: number;
  runtime: string;
  synchronous: boolean;
  url: string;
  s3_sse_kms: boolean;
  startup_timeout: number;
}

interface ScaleWorkerRequest {
  model_name: string;
  model_version: string;
  max_worker: number;
  min_worker: number;
  number_gpu: number;
  synchronous: boolean;
  timeout: number;
}

interface SetDefaultRequest {
  model_name: string;
  model_version: string;
}

interface UnregisterModelRequest {
  model_name: string;
  model_version: string;
}

/** GRPCUtils.getRegisterParam: a positive number, or the default. */
function positive(n: number, fallback: number): number {
  return n > 0 ? n : fallback;
}

/** proto3's 0 is "not set"; anything else is read as REST reads it (registerInt). */
function unset0(n: number): number | undefined {
  return n === 0 ? undefined : n;
}

/** Gson's pretty printing, as ManagementImpl sends describe and list. */
function gsonPretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** register/unregister with enable_model_api=false. */
function modelApiDisabled(): Partial<ServiceError> {
  return grpcError(Code.PERMISSION_DENIED, `Model API disabled\n${javaClassName('ModelException')}`);
}

/** Wraps an operation: token check, then its message or its error as TorchServe maps it. */
function method<Req>(
  deps: GrpcDeps,
  run: (req: Req) => Promise<string | ApiResult> | string | ApiResult,
): (call: ServerUnaryCall<Req, ManagementResponse>, callback: sendUnaryData<ManagementResponse>) => void {
  return (call, callback) => {
    const denied = checkToken(deps.tokens, 'management', call.metadata);
    if (denied) return callback(denied);
    void (async () => {
      try {
        const r = await run(call.request);
        if (typeof r === 'string') return callback(null, { msg: r });
        if (r.status >= 200 && r.status < 300) return callback(null, { msg: r.message });
        // Not reached by today's operations (they throw), kept for TorchServe's sendStatusResponse.
        callback(grpcError(grpcCode(r.status), r.message));
      } catch (err) {
        if (err instanceof DisabledError) return callback(modelApiDisabled());
        callback(serveErrorToGrpc(err));
      }
    })();
  };
}

class DisabledError extends Error {}

export function managementService(deps: GrpcDeps): UntypedServiceImplementation {
  const m = deps.manager;
  const requireModelApi = (): void => {
    if (!deps.config.enableModelApi) throw new DisabledError();
  };
  return {
    DescribeModel: method<DescribeModelRequest>(deps, async (req) =>
      gsonPretty(await describeModels(m.registry, req.model_name, req.model_version || null, req.customized)),
    ),

    ListModels: method<ListModelsRequest>(deps, (req) => gsonPretty(listModels(m.registry, positive(req.limit, 100), positive(req.next_page_token, 0)))),

    RegisterModel: method<RegisterModelRequest>(deps, (req) => {
      requireModelApi();
      return m.register({
        // TorchServe's GRPCUtils.getRegisterParam reads an empty (proto3 default) url as absent.
        url: req.url || undefined,
        modelName: req.model_name || undefined,
        handler: req.handler || undefined,
        runtime: req.runtime || undefined,
        batchSize: registerInt(unset0(req.batch_size), 'batch_size'),
        maxBatchDelay: registerInt(unset0(req.max_batch_delay), 'max_batch_delay', -100),
        initialWorkers: registerInt(unset0(req.initial_workers), 'initial_workers'),
        // proto3 bools default to false: gRPC registration is asynchronous unless asked (spec §9).
        synchronous: req.synchronous,
        responseTimeout: registerInt(unset0(req.response_timeout), 'response_timeout'),
        startupTimeout: registerInt(unset0(req.startup_timeout), 'startup_timeout'),
      });
    }),

    ScaleWorker: method<ScaleWorkerRequest>(deps, (req) => {
      // TorchServe's gRPC reads a negative count as the default; ortserve passes it to the registry,
      // which refuses it as REST does: what TorchServe's API test data expects over gRPC too (INTERNAL
      // for min_worker=-1, INVALID_ARGUMENT for max_worker=-1).
      const min = req.min_worker === 0 ? 1 : req.min_worker;
      const max = req.max_worker === 0 ? min : req.max_worker;
      return m.scale(req.model_name, req.model_version || null, min, max, req.synchronous);
    }),

    SetDefault: method<SetDefaultRequest>(deps, (req) => m.setDefault(req.model_name, req.model_version)),

    UnregisterModel: method<UnregisterModelRequest>(deps, (req) => {
      requireModelApi();
      // TorchServe's message for an empty model_name, as it is.
      if (!req.model_name) throw new BadRequestException('Parameter url is required.');
      return m.unregister(req.model_name, req.model_version || null);
    }),
  };
}
