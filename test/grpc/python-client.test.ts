/**
 * A Python grpcio client, its stubs generated at test time from the same proto/*.proto files, against a
 * real server: what a TorchServe user's Python gRPC client does. Needs Debian's python3-grpcio and
 * python3-grpc-tools (.ci/run installs them); Debian's grpc_tools bundles protoc 3.5, older than proto3
 * `optional` (inference.proto uses it), so protoc + grpc_python_plugin (protobuf-compiler,
 * protobuf-compiler-grpc) is the fallback.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { PROTO_DIR, writeGrpcMar } from './support.js';

const PROTOS = ['inference.proto', 'management.proto', 'google/rpc/status.proto'];
const INSTALL_HINT = 'install python3-grpcio and python3-grpc-tools (and protobuf-compiler, protobuf-compiler-grpc) with apt-get';

/** The first Python 3 that can import grpc (Debian's, which apt installs grpcio for, before any other on PATH). */
function findPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' }).status === 0) return py;
  }
  return null;
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Generates *_pb2.py and *_pb2_grpc.py into `out`; returns the generator used. */
function generateStubs(py: string, out: string): string {
  const wkt = spawnSync(py, ['-c', "import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), '_proto'))"], { encoding: 'utf8' });
  const wktDir = wkt.status === 0 ? wkt.stdout.trim() : '/usr/include';
  const common = [`-I${PROTO_DIR}`, `-I${wktDir}`, `--python_out=${out}`, `--grpc_python_out=${out}`, ...PROTOS];
  const tools = spawnSync(py, ['-m', 'grpc_tools.protoc', ...common], { cwd: PROTO_DIR, encoding: 'utf8' });
  if (tools.status === 0) return `${py} -m grpc_tools.protoc`;
  const protoc = which('protoc');
  const plugin = which('grpc_python_plugin');
  if (protoc && plugin) {
    const r = spawnSync(protoc, [`--plugin=protoc-gen-grpc_python=${plugin}`, ...common], { cwd: PROTO_DIR, encoding: 'utf8' });
    if (r.status === 0) return 'protoc + grpc_python_plugin';
    throw new Error(`protoc failed: ${r.stderr}`);
  }
  throw new Error(`grpc_tools.protoc failed (${tools.stderr.trim()}) and protoc/grpc_python_plugin are missing: ${INSTALL_HINT}`);
}

const CLIENT = `
import json, sys
sys.path.insert(0, sys.argv[1])
import grpc
from google.protobuf import empty_pb2
import inference_pb2, inference_pb2_grpc, management_pb2, management_pb2_grpc

inf_target, mgmt_target, inf_key, mgmt_key = sys.argv[2:6]
options = [('grpc.enable_http_proxy', 0)]
out = {}
with grpc.insecure_channel(inf_target, options=options) as channel:
    stub = inference_pb2_grpc.InferenceAPIsServiceStub(channel)
    md = (('authorization', 'Bearer ' + inf_key),)
    out['ping'] = stub.Ping(empty_pb2.Empty(), metadata=md, timeout=60).health
    r = stub.Predictions(inference_pb2.PredictionsRequest(model_name='probe', input={'body': b'hello from python'}), metadata=md, timeout=60)
    out['predict'] = r.prediction.decode('utf-8')
    r = stub.Predictions(inference_pb2.PredictionsRequest(model_name='gh', model_version='1.0', input={'data': b'py'}), metadata=md, timeout=60)
    out['predictVersion'] = r.prediction.decode('utf-8')
    try:
        stub.Predictions(inference_pb2.PredictionsRequest(model_name='nope', input={'data': b'x'}), metadata=md, timeout=60)
    except grpc.RpcError as e:
        out['unknown'] = [e.code().name, e.details()]
    try:
        stub.Ping(empty_pb2.Empty(), timeout=60)
    except grpc.RpcError as e:
        out['noToken'] = [e.code().name, e.details()]
    parts = stub.StreamPredictions(inference_pb2.PredictionsRequest(model_name='gh', input={'data': b'stream:2'}), metadata=md, timeout=60)
    out['stream'] = [p.prediction.decode('utf-8') for p in parts]
with grpc.insecure_channel(mgmt_target, options=options) as channel:
    stub = management_pb2_grpc.ManagementAPIsServiceStub(channel)
    md = (('authorization', 'Bearer ' + mgmt_key),)
    out['list'] = json.loads(stub.ListModels(management_pb2.ListModelsRequest(), metadata=md, timeout=60).msg)
    out['describe'] = json.loads(stub.DescribeModel(management_pb2.DescribeModelRequest(model_name='probe'), metadata=md, timeout=60).msg)
print(json.dumps(out))
`;

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('gRPC from a Python grpcio client generated from proto/', () => {
  let s: TestServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-pygrpc-'));
    s = await startTestServer();
    writeProbeMar(s.modelStore, { name: 'probe' });
    writeGrpcMar(s, 'gh');
    await s.register('url=probe.mar&initial_workers=1&synchronous=true');
    await s.register('url=gh.mar&initial_workers=1&synchronous=true');
  });
  after(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pings, predicts, streams, sees errors and lists models', async (t) => {
    const py = findPython();
    assert.ok(py, `no python3 can import grpc: ${INSTALL_HINT}`);
    const generator = generateStubs(py, dir);
    t.diagnostic(`stubs generated with ${generator}`);
    const script = path.join(dir, 'client.py');
    writeFileSync(script, CLIENT);
    const r = await run(py, [script, dir, s.grpcInferenceUrl!, s.grpcManagementUrl!, s.tokens!.key('inference'), s.tokens!.key('management')]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.ping, '{\n  "status": "Healthy"\n}');
    assert.equal(out.predict, 'hello from python');
    assert.equal(out.predictVersion, 'echo:py|data:bytes');
    assert.deepEqual(out.unknown, ['NOT_FOUND', 'Model not found: nope\norg.pytorch.serve.archive.model.ModelNotFoundException']);
    assert.deepEqual(out.noToken, ['PERMISSION_DENIED', 'Token Authorization failed. Token either incorrect, expired, or not provided correctly']);
    assert.deepEqual(out.stream, ['part0 ', 'part1 ', 'done']);
    assert.deepEqual((out.list as { models: Array<{ modelName: string }> }).models.map((m) => m.modelName), ['gh', 'probe']);
    assert.equal((out.describe as Array<{ modelName: string }>)[0]!.modelName, 'probe');
  });
});
