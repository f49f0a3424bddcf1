/**
 * The two gRPC listeners (spec §9): the inference service on `grpc_inference_address:grpc_inference_port`
 * (default 127.0.0.1:7070) and the management service on `grpc_management_address:_port` (7071), each its
 * own grpc-js server, like TorchServe's two Netty gRPC servers. Plaintext HTTP/2; port 0 binds a free port.
 * The inference server also serves the KServe v2 `GRPCInferenceService`, as TorchServe's ModelServer adds
 * it to its inference server (there only with `ts_open_inference_protocol=true`; here always, as the OIP
 * REST routes are).
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { accessInterceptor } from './access.js';
import { inferenceService } from './inference-service.js';
import type { GrpcDeps } from './deps.js';
import { managementService } from './management-service.js';
import { oipService } from './oip-service.js';
import { INFERENCE_SERVICE, MANAGEMENT_SERVICE, OIP_SERVICE, serviceDefinition } from './protos.js';

export interface GrpcListener {
  /** `host:port` as bound (a gRPC target clients can dial; IPv6 hosts in brackets). */
  address: string;
  close(graceMs: number): Promise<void>;
}

export interface GrpcListeners {
  inference: GrpcListener;
  management: GrpcListener;
  close(graceMs: number): Promise<void>;
}

function target(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function bind(server: Server, api: string, host: string, port: number): Promise<GrpcListener> {
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target(host, port), ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(new Error(`${api}: cannot bind ${target(host, port)}: ${err.message}`)) : resolve(p),
    );
  });
  let closing: Promise<void> | null = null;
  return {
    address: target(host, bound),
    close(graceMs) {
      // In-flight calls get `graceMs` to finish; then every call and connection is cut.
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}

function newServer(deps: GrpcDeps): Server {
  return new Server({
    // TorchServe sizes its gRPC messages as its HTTP bodies (max_request_size / max_response_size).
    'grpc.max_receive_message_length': deps.config.maxRequestSize,
    'grpc.max_send_message_length': deps.config.maxResponseSize,
    interceptors: [accessInterceptor(deps.metrics, deps.access ?? null)],
  });
}

/** Binds both services; on a bind failure, whatever was bound is closed and the error thrown. */
export async function startGrpcServers(deps: GrpcDeps): Promise<GrpcListeners> {
  const inferenceServer = newServer(deps);
  inferenceServer.addService(serviceDefinition(INFERENCE_SERVICE), inferenceService(deps));
  inferenceServer.addService(serviceDefinition(OIP_SERVICE), oipService(deps));
  const managementServer = newServer(deps);
  managementServer.addService(serviceDefinition(MANAGEMENT_SERVICE), managementService(deps));
  const { host: ih, port: ip } = deps.config.grpcInference;
  const { host: mh, port: mp } = deps.config.grpcManagement;
  const inference = await bind(inferenceServer, 'gRPC Inference API', ih, ip).catch((err: unknown) => {
    inferenceServer.forceShutdown();
    throw err;
  });
  const management = await bind(managementServer, 'gRPC Management API', mh, mp).catch(async (err: unknown) => {
    managementServer.forceShutdown();
    await inference.close(0);
    throw err;
  });
  return {
    inference,
    management,
    close: async (graceMs) => {
      await Promise.all([inference.close(graceMs), management.close(graceMs)]);
    },
  };
}
