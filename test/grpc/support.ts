/**
 * A gRPC client built only from the repository's .proto files with @grpc/proto-loader (nothing from src/),
 * as a TorchServe user would build one; promise helpers for its calls; and the test archives.
 */
import { fileURLToPath } from 'node:url';
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  type Client,
  type ClientReadableStream,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { writeMar } from '../support/archives.js';
import type { TestServer } from '../support/server.js';

/** `<repo>/proto/` (this file runs as dist/test/grpc/support.js). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

// Deliberately not the server's loader code: the client knows nothing but the .proto files.
const definition = loadSync(['inference.proto', 'management.proto'], {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});
const pkg = loadPackageDefinition(definition) as any;
const InferenceClient = pkg.org.pytorch.serve.grpc.inference.InferenceAPIsService as ServiceClientConstructor;
const ManagementClient = pkg.org.pytorch.serve.grpc.management.ManagementAPIsService as ServiceClientConstructor;
// KServe v2 from its own file alone, as a KServe / Triton client would load it.
const oipDefinition = loadSync('open_inference_grpc.proto', { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] });
const OipClient = (loadPackageDefinition(oipDefinition) as any).org.pytorch.serve.grpc.openinference.GRPCInferenceService as ServiceClientConstructor;

export type AnyClient = Client & Record<string, (...args: unknown[]) => unknown>;

/** Loopback calls never go through an http_proxy/grpc_proxy from the environment. */
const CHANNEL_OPTIONS = { 'grpc.enable_http_proxy': 0 };

export function inferenceClient(s: TestServer): AnyClient {
  return new InferenceClient(s.grpcInferenceUrl!, credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as AnyClient;
}

/** The KServe v2 `GRPCInferenceService` on the inference listener. */
export function oipClient(s: TestServer): AnyClient {
  return new OipClient(s.grpcInferenceUrl!, credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as AnyClient;
}

export function managementClient(s: TestServer): AnyClient {
  return new ManagementClient(s.grpcManagementUrl!, credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as AnyClient;
}

/** `authorization: Bearer <key>` metadata for a key kind (empty without token auth). */
export function bearer(s: TestServer, kind: 'inference' | 'management' | 'API'): Metadata {
  const md = new Metadata();
  if (s.tokens) md.set('authorization', `Bearer ${s.tokens.key(kind)}`);
  return md;
}

/** A unary call as a promise. */
export function unary<T>(client: AnyClient, method: string, req: object, md: Metadata = new Metadata()): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method]!(req, md, { deadline: Date.now() + 60_000 }, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

/** A unary call that must fail: its error. */
export async function unaryError(client: AnyClient, method: string, req: object, md?: Metadata): Promise<ServiceError> {
  try {
    await unary(client, method, req, md);
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error(`${method} succeeded where it should have failed`);
}

/** Every message of a server stream, then its end (or its error, with the messages read so far). */
export function collect<T>(stream: ClientReadableStream<T>): Promise<{ messages: T[]; error: ServiceError | null }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    stream.on('data', (m: T) => messages.push(m));
    stream.on('error', (error: ServiceError) => resolve({ messages, error }));
    stream.on('end', () => resolve({ messages, error: null }));
  });
}

/**
 * A handler for these tests. The request's `data` (or `body`) bytes say what to do: `stream:N` sends N
 * intermediate parts `part0 ` … then returns `done`; `throw` fails the batch; anything else comes back
 * as `echo:<text>`. Parameter names, in order, and their types are listed after `|`.
 */
export const GRPC_HANDLER = `
import { sendIntermediatePredictResponse, type Context, type RequestRow } from 'ortserve';
import { PROTO_DIR, PROTO_LOADER_OPTIONS } from '../../src/grpc/protos.js';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export async function handle(data: RequestRow[] | null, ctx: Context): Promise<unknown[] | void> {
  if (data === null) return;
  const row = data[0]!;
  const v = row.data ?? row.body;
  const text = v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : JSON.stringify(v);
  if (text === 'throw') throw new Error('failed on purpose');
  const m = /^stream:(\\d+)$/.exec(text);
  if (m) {
    for (let i = 0; i < Number(m[1]); i++) {
      sendIntermediatePredictResponse([\`part\${i} \`], ctx.requestIds, 'Intermediate Prediction success', 200, ctx);
      await sleep(5);
    }
    return ['done'];
  }
  const kinds = Object.entries(row).map(([k, x]) => \`\${k}:\${x instanceof Uint8Array ? 'bytes' : typeof x}\`);
  return [\`echo:\${text}|\${kinds.join(',')}\`];
}
`;

/** Writes `<name>.mar` with GRPC_HANDLER into the server's model store. */
export function writeGrpcMar(s: TestServer, name: string, version?: string): string {
  return writeMar(s.modelStore, {
    name,
    ...(version ? { version, fileName: `${name}-${version}.mar` } : {}),
    handler: 'grpc_handler.ts',
    files: { 'grpc_handler.ts': GRPC_HANDLER },
  });
}
