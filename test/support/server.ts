/**
 * Starts a real ortserve on loopback (port 0) in a private temporary directory: its own model store,
 * logs, extraction directory and key_file.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request, { type Response } from 'supertest';
import { loadConfig } from '../../src/config/load-config.js';
import type { CliOverrides, ServerConfig } from '../../src/config/types.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { binary } from './http.js';

export interface TestServerOptions {
  /** Extra config.properties lines. */
  properties?: Record<string, string>;
  cli?: CliOverrides;
  /** Reuse a directory (restart tests); a new one otherwise. */
  dir?: string;
  /** Share one listener for inference and management. */
  sharedAddress?: boolean;
}

/** RunningServer already exposes the bound gRPC targets: `grpcInferenceUrl`, `grpcManagementUrl` (`host:port`). */
export interface TestServer extends RunningServer {
  dir: string;
  modelStore: string;
  config: ServerConfig;
  /** `{Authorization: 'Bearer …'}` for a key kind, or {} without token auth. */
  auth(kind: 'inference' | 'management' | 'API'): Record<string, string>;
  /** `POST /models?<query>` with the management key; fails the test unless it answers 200. */
  register(query: string): Promise<Response>;
  /** Sends a JSON body to `/predictions/<path>` at once (supertest is lazy until awaited); body as bytes. */
  predictJson(path: string, body: unknown): Promise<Response>;
  stop(): Promise<void>;
}

export function makeTempDir(prefix = 'ortserve-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dir = opts.dir ?? makeTempDir();
  const modelStore = path.join(dir, 'model-store');
  mkdirSync(modelStore, { recursive: true });
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const props: Record<string, string> = {
    inference_address: 'http://127.0.0.1:0',
    management_address: opts.sharedAddress ? 'http://127.0.0.1:0' : 'http://127.0.0.2:0',
    metrics_address: 'http://127.0.0.1:0',
    // gRPC on free ports too, so parallel test files never collide on 7070/7071.
    grpc_inference_port: '0',
    grpc_management_port: '0',
    model_store: modelStore,
    enable_model_api: 'true',
    ...opts.properties,
  };
  const configFile = path.join(dir, 'config.properties');
  writeFileSync(configFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const env = { LOG_LOCATION: path.join(dir, 'logs'), TEMP: path.join(dir, 'tmp') };
  const config = loadConfig({ tsConfig: configFile, ...opts.cli }, env, dir);
  const server = await startServer(config, { cwd: dir, log: () => undefined });
  const auth = (kind: 'inference' | 'management' | 'API'): Record<string, string> =>
    server.tokens ? { Authorization: `Bearer ${server.tokens.key(kind)}` } : {};
  return {
    ...server,
    dir,
    modelStore,
    config,
    auth,
    register: (query) => request(server.managementUrl).post(`/models?${query}`).set(auth('management')).expect(200).then((r) => r),
    predictJson: (p, body) =>
      binary(request(server.inferenceUrl).post(`/predictions/${p}`).set(auth('inference')).type('json').send(body as object)).then((r) => r),
    async stop() {
      await server.close(1000);
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
