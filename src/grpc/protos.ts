/**
 * TorchServe's gRPC protos (spec §9), loaded at run time from the repository's `proto/` folder, the same
 * files clients generate their stubs from: `inference.proto`, `management.proto`, `google/rpc/status.proto`
 * and the KServe v2 `open_inference_grpc.proto` (google/protobuf's well-known types come with protobufjs).
 */
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/** `<repo>/proto/`: this file runs as `dist/src/grpc/protos.js`. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

/** Field names as in the .proto (snake_case); absent fields get their proto3 defaults. */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export const INFERENCE_SERVICE = 'org.pytorch.serve.grpc.inference.InferenceAPIsService';
export const MANAGEMENT_SERVICE = 'org.pytorch.serve.grpc.management.ManagementAPIsService';
export const OIP_SERVICE = 'org.pytorch.serve.grpc.openinference.GRPCInferenceService';

let loaded: GrpcObject | null = null;

/** The protos as one grpc-js package tree (loaded once). */
export function grpcPackages(): GrpcObject {
  loaded ??= loadPackageDefinition(loadSync(['inference.proto', 'management.proto', 'open_inference_grpc.proto'], PROTO_LOADER_OPTIONS));
  return loaded;
}

/** A service constructor by its full name, e.g. INFERENCE_SERVICE. */
export function serviceConstructor(fullName: string): ServiceClientConstructor {
  let node: unknown = grpcPackages();
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`gRPC service ${fullName} is not in the protos`);
  return node as ServiceClientConstructor;
}

export function serviceDefinition(fullName: string): ServiceDefinition {
  return serviceConstructor(fullName).service;
}
