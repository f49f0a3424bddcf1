/**
 * `npm run test:conformance`: runs every vendored TorchServe Postman collection (torchserve/) with newman
 * against a real ortserve, one fresh server per suite, configured as TorchServe's CI configured
 * TorchServe (suites.ts). Fails unless every assertion passes, except those listed in exclusions.json
 * (each needs a PyTorch-only feature), and fails too when a listed exclusion passes (the list stays true).
 *
 * `node dist/test/conformance/run.js [suite…]` runs only the named suites.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';
import newman from 'newman';
import { selfSignedCert } from '../support/tls.js';
import { startOrtserve } from './ortserve-process.js';
import { checkReferenceData } from './reference.js';
import { SUITES, type Suite } from './suites.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The sources (this file runs from dist/test/conformance). */
const SRC = path.resolve(HERE, '../../../test/conformance');
const REPO = path.resolve(SRC, '../..');
/** The Requests2XX check of the model-zoo collections asks http://localhost:8082/metrics, not {{metric-port}}. */
const FIXED_METRICS_PORT = 8082;

/**
 * Model-store names the collections use (environment.json's `mar_path_*` values and the names in
 * management_data.json), each served by ortserve's equivalent: the bundled taxonomy classifier.
 */
const STORE_NAMES = ['squeezenet1_1', 'mnist', 'densenet161', 'resnet-152-batch', 'resnet-18'];

/**
 * The taxonomy archive under another model name and, like TorchServe's model-zoo archives, without a
 * model-config.yaml (with one, its timeouts would win over the register parameters the suite sends).
 */
function writeZooArchive(source: string, name: string, target: string): void {
  const from = new AdmZip(source);
  const to = new AdmZip();
  for (const e of from.getEntries()) {
    if (e.entryName === 'model-config.yaml' || e.entryName === 'MAR-INF/MANIFEST.json') continue;
    to.addFile(e.entryName, e.getData());
  }
  const manifest = JSON.parse(from.readAsText('MAR-INF/MANIFEST.json')) as { model: Record<string, unknown> };
  manifest.model.modelName = name;
  delete manifest.model.configFile;
  to.addFile('MAR-INF/MANIFEST.json', Buffer.from(JSON.stringify(manifest, null, 2)));
  to.writeZip(target);
}

/** Request bodies the collections name by upstream path (relative to newman's working directory). */
const FIXED_INPUTS: Record<string, string> = {
  '../examples/image_classifier/kitten.jpg': 'inputs/concert.txt',
  '../kubernetes/kserve/kf_request_json/v1/mnist.json': 'inputs/kf_v1_request.json',
  '../kubernetes/kserve/kf_request_json/v2/mnist/mnist_v2_tensor.json': 'inputs/kfv2_bytes_request.json',
};

interface Exclusion {
  suite: string;
  iteration: number;
  request: string;
  assertion: string;
  reason: string;
}

interface Outcome {
  suite: string;
  passed: number;
  failed: string[];
  excludedFailures: number;
}

const key = (e: { suite: string; iteration: number; request: string; assertion: string }): string =>
  `${e.suite} #${e.iteration} ${e.request} / ${e.assertion}`;

async function runSuite(suite: Suite, root: string, exclusions: Map<string, Exclusion>, marServer: string): Promise<Outcome> {
  const dir = path.join(root, suite.name);
  const work = path.join(dir, 'work', 'test');
  mkdirSync(work, { recursive: true });
  cpSync(path.join(SRC, 'inputs'), path.join(dir, 'work', 'inputs'), { recursive: true });
  for (const [upstream, ours] of Object.entries(FIXED_INPUTS)) {
    const target = path.resolve(work, upstream);
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(path.join(SRC, ours), target);
  }
  const modelStore = path.join(dir, 'model_store');
  mkdirSync(modelStore, { recursive: true });
  for (const name of STORE_NAMES) writeZooArchive(path.join(REPO, 'model-store', 'taxonomy.mar'), name, path.join(modelStore, `${name}.mar`));
  // The models the bundled events workflow names (the workflow itself is registered by URL). Only there:
  // a URL registration refuses to overwrite a model-store file of the same name, as TorchServe does.
  if (suite.workflows) {
    for (const name of ['taxonomy.mar', 'music_subtaxonomy.mar']) copyFileSync(path.join(REPO, 'model-store', name), path.join(modelStore, name));
  }

  const scheme = suite.https ? 'https' : 'http';
  const properties: Record<string, string> = {
    inference_address: `${scheme}://127.0.0.1:0`,
    management_address: `${scheme}://127.0.0.1:0`,
    metrics_address: `${scheme}://127.0.0.1:${suite.https ? 0 : FIXED_METRICS_PORT}`,
    grpc_inference_port: '0',
    grpc_management_port: '0',
    ...suite.properties,
  };
  if (suite.https) {
    const cert = selfSignedCert(dir);
    properties.private_key_file = cert.keyFile;
    properties.certificate_file = cert.certFile;
  }
  const server = await startOrtserve({ dir, properties, modelStore, workflowStore: suite.workflows ? modelStore : undefined });
  const port = (listener: string): string => {
    const url = server.bound.get(listener);
    if (!url) throw new Error(`ortserve did not say where its ${listener} is:\n${server.output()}`);
    return new URL(url).port;
  };
  const [pred, mgmt, metric] = [port('Inference API'), port('Management API'), port('Metrics API')];
  const portVars = suite.https
    ? { 'sec-pred-port': pred, 'sec-mgmt-port': mgmt, 'sec-metric-port': metric }
    : { 'pred-port': pred, 'mgmt-port': mgmt, 'metric-port': metric };
  const outcome: Outcome = { suite: suite.name, passed: 0, failed: [], excludedFailures: 0 };
  const seenExcluded = new Set<string>();
  const rows = suite.data ? (JSON.parse(readFileSync(path.join(SRC, suite.data), 'utf8')) as Array<Record<string, unknown>>) : [];
  const rowName = (iteration: number): string => {
    const row = rows[iteration - 1];
    return row ? ` [${String(row['test'] ?? row['model_name'] ?? row['workflow_name'] ?? '')}]` : '';
  };
  try {
    await new Promise<void>((resolve, reject) => {
      newman
        .run({
          collection: path.join(SRC, 'torchserve', suite.collection),
          environment: path.join(SRC, 'torchserve', 'environment.json'),
          envVar: [
            { key: 'hostname', value: '127.0.0.1' },
            { key: 'mar-server', value: marServer },
            ...Object.entries(portVars).map(([k, v]) => ({ key: k, value: String(v) })),
          ],
          ...(suite.data ? { iterationData: path.join(SRC, suite.data) } : {}),
          workingDir: work,
          insecure: suite.https === true,
          reporters: ['cli'],
          reporter: { cli: { noSummary: false, noBanner: true } },
          timeoutRequest: 120_000,
        })
        .on('assertion', (err, args) => {
          const id = { suite: suite.name, iteration: args.cursor.iteration + 1, request: args.item.name, assertion: args.assertion };
          if (!err) {
            outcome.passed++;
            if (exclusions.has(key(id))) seenExcluded.add(`${key(id)} (listed in exclusions.json but passed)`);
          } else if (exclusions.has(key(id))) {
            outcome.excludedFailures++;
          } else {
            outcome.failed.push(`${key(id)}${rowName(id.iteration)}: ${err.message}`);
          }
        })
        .on('done', (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    await server.stop();
  }
  outcome.failed.push(...seenExcluded);
  if (outcome.failed.length > 0) {
    const log = path.join(dir, 'ortserve-output.log');
    writeFileSync(log, server.output());
    console.log(`ortserve's output for ${suite.name}: ${log}`);
  }
  return outcome;
}

/** Serves the repository's model-store/ on loopback, for data files that register by http URL. */
async function startMarServer(): Promise<{ url: string; close(): Promise<void> }> {
  const store = path.join(REPO, 'model-store');
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').slice(1));
    if (!/^[\w.-]+\.[mw]ar$/.test(name)) return void res.writeHead(404).end();
    try {
      const body = readFileSync(path.join(store, name));
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const suites = only.length ? SUITES.filter((s) => only.includes(s.name)) : SUITES;
  if (suites.length === 0) throw new Error(`No suite named ${only.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}`);
  await checkReferenceData(SRC, path.join(REPO, 'model-store', 'taxonomy.mar'));
  const exclusions = new Map<string, Exclusion>(
    (JSON.parse(readFileSync(path.join(SRC, 'exclusions.json'), 'utf8')) as { exclusions: Exclusion[] }).exclusions.map((e) => [key(e), e]),
  );
  const root = path.join(os.tmpdir(), `ortserve-conformance-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  const marServer = await startMarServer();
  const outcomes: Outcome[] = [];
  try {
    for (const suite of suites) {
      console.log(`\n=== ${suite.name}: ${suite.collection}${suite.data ? ` with ${suite.data}` : ''}`);
      outcomes.push(await runSuite(suite, root, exclusions, marServer.url));
    }
  } finally {
    await marServer.close();
  }
  console.log('\nsuite                         passed  excluded  failed');
  for (const o of outcomes) {
    console.log(`${o.suite.padEnd(30)}${String(o.passed).padStart(6)}${String(o.excludedFailures).padStart(10)}${String(o.failed.length).padStart(8)}`);
  }
  const failures = outcomes.flatMap((o) => o.failed);
  if (failures.length > 0) {
    console.log(`\n${failures.length} unexpected result(s):\n${failures.map((f) => `  ${f}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
