/**
 * Issue 8: every manifest of deploy/kubernetes and deploy/kserve against Kubernetes' OpenAPI schemas
 * (kubernetes-models) and KServe's CRD schemas (deploy/kserve/crds), unknown fields included; then what
 * the schemas cannot see: the config files load with ortserve's own loader, the HPA's metric is the one the
 * prometheus-adapter rule serves, selectors and names agree, requests match the worker/thread settings.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { envMappings } from '../../src/config/defaults.js';
import { parseProperties } from '../../src/config/properties.js';
import { deployManifests, label, REPO, validateAll, type Manifest } from '../../tools/deploy/validate.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- YAML documents, read field by field
type Doc = Record<string, any>;

const manifests = deployManifests();
const byName = (file: string): Doc => {
  const m = manifests.find((x) => x.file.endsWith(file));
  assert.ok(m, `${file} is missing`);
  return m.doc as Doc;
};

function withConfig<T>(text: string, fn: (file: string, dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-deploy-'));
  try {
    writeFileSync(path.join(dir, 'config.properties'), text);
    return fn(path.join(dir, 'config.properties'), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('deploy manifests: schemas', () => {
  it('every Kubernetes and KServe resource validates, with no unknown field', async () => {
    const { checked, problems } = await validateAll(manifests);
    assert.deepEqual(problems, []);
    const kinds = new Set(manifests.map((m) => String(m.doc.kind)));
    for (const k of ['Deployment', 'Service', 'ConfigMap', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'ClusterServingRuntime', 'InferenceService']) {
      assert.ok(kinds.has(k), `no ${k} in deploy/`);
    }
    assert.equal(checked.length, manifests.length);
  });

  it('the validation catches what kubectl would refuse', async () => {
    const mutate = (file: string, f: (d: Doc) => void): Manifest => {
      const m = structuredClone(manifests.find((x) => x.file.endsWith(file))!);
      f(m.doc as Doc);
      return m;
    };
    const cases: Array<[string, Manifest, RegExp]> = [
      ['misspelt probe', mutate('deployment.yaml', (d) => (d.spec.template.spec.containers[0].readinesProbe = {})), /readinesProbe/],
      ['bad quantity', mutate('deployment.yaml', (d) => (d.spec.template.spec.containers[0].resources.requests.cpu = '2 cores')), /cpu/],
      ['HPA metric without a name', mutate('hpa.yaml', (d) => delete d.spec.metrics[0].pods.metric.name), /name/],
      ['unknown ServingRuntime field', mutate('cluster-serving-runtime.yaml', (d) => (d.spec.protocolVersion = ['v1'])), /additional properties/],
      ['unknown protocol', mutate('inferenceservice-v2.yaml', (d) => (d.spec.predictor.model.protocolVersion = 'v3')), /allowed values/],
      ['misspelt model field', mutate('inferenceservice-v1.yaml', (d) => (d.spec.predictor.model.storageURI = 'gs://x')), /storageURI/],
      ['bad env in the runtime', mutate('cluster-serving-runtime.yaml', (d) => (d.spec.containers[0].env[0].valu = 'x')), /valu/],
    ];
    for (const [name, m, re] of cases) {
      const { problems } = await validateAll([m]);
      assert.ok(problems.length > 0, `${name}: not caught`);
      assert.match(problems.map((p) => p.message).join('\n'), re, name);
    }
  });
});

describe('deploy manifests: what the schemas cannot check', () => {
  const configMap = byName('configmap.yaml');
  const deployment = byName('deployment.yaml');
  const clusterConfig = configMap.data['config.properties'] as string;

  it('the ConfigMap config.properties loads with ortserve: 0.0.0.0 inference, loopback management, token auth off', () => {
    withConfig(clusterConfig, (file, dir) => {
      const c = loadConfig({ tsConfig: file }, {}, dir);
      assert.deepEqual(c.warnings, []);
      assert.equal(c.inferenceAddress.host, '0.0.0.0');
      assert.equal(c.metricsAddress.host, '0.0.0.0');
      assert.equal(c.managementAddress.host, '127.0.0.1');
      assert.equal(c.grpcManagement.host, '127.0.0.1');
      assert.equal(c.disableTokenAuthorization, true);
      assert.equal(c.enableModelApi, false);
      // 1 worker × intra_op_threads = the container's CPU request and limit.
      const res = deployment.spec.template.spec.containers[0].resources;
      assert.equal(c.defaultWorkersPerModel * c.intraOpThreads, Number(res.requests.cpu));
      assert.equal(res.requests.cpu, res.limits.cpu);
      assert.equal(res.requests.memory, res.limits.memory);
    });
  });

  it('docker/config.properties is the only config binding beyond loopback, and it loads', () => {
    const docker = readFileSync(path.join(REPO, 'docker/config.properties'), 'utf8');
    withConfig(docker, (file, dir) => {
      const c = loadConfig({ tsConfig: file }, {}, dir);
      assert.deepEqual(c.warnings, []);
      assert.equal(c.inferenceAddress.host, '0.0.0.0');
      assert.equal(c.disableTokenAuthorization, false, 'the image keeps token authorization on');
    });
    const root = parseProperties(readFileSync(path.join(REPO, 'config.properties'), 'utf8'));
    for (const k of ['inference_address', 'management_address', 'metrics_address']) assert.match(root.get(k) ?? '', /127\.0\.0\.1/);
  });

  it('the HPA scales on the metric the prometheus-adapter rule serves, a rate and not a raw counter', () => {
    const hpa = byName('hpa.yaml');
    const rules = parse(byName('prometheus-adapter-rules.yaml').data['config.yaml'] as string).rules as Doc[];
    const metric = hpa.spec.metrics[0].pods.metric.name as string;
    const rule = rules.find((r) => r.name.as === metric);
    assert.ok(rule, `no adapter rule serves ${metric}`);
    const q = rule.metricsQuery as string;
    assert.match(q, /rate\(ts_queue_latency_microseconds\{<<\.LabelMatchers>>\}\[1m\]\)/);
    assert.match(q, /rate\(ts_inference_requests_total\{<<\.LabelMatchers>>\}\[1m\]\)/);
    assert.match(q, /\/\s*1e6/, 'microseconds to seconds');
    // The metric names are the ones ortserve serves (docs/metrics.md).
    const metricsDoc = readFileSync(path.join(REPO, 'docs/metrics.md'), 'utf8');
    for (const name of q.match(/\b(ts|ortserve)_[a-z_]+/g) ?? []) assert.ok(metricsDoc.includes(name), `${name} not in docs/metrics.md`);
    assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
    assert.ok(hpa.spec.minReplicas >= 2, 'the PDB needs two replicas to allow a drain');
  });

  it('names and selectors agree across the files', () => {
    const labels = deployment.spec.template.metadata.labels;
    assert.deepEqual(deployment.spec.selector.matchLabels, labels);
    assert.deepEqual(byName('service.yaml').spec.selector, labels);
    assert.deepEqual(byName('pdb.yaml').spec.selector.matchLabels, labels);
    assert.deepEqual(byName('networkpolicy.yaml').spec.podSelector.matchLabels, labels);
    const pod = deployment.spec.template.spec;
    assert.equal(pod.volumes.find((v: Doc) => v.name === 'config').configMap.name, configMap.metadata.name);
    const c = pod.containers[0];
    assert.equal(c.readinessProbe.httpGet.path, '/ping');
    assert.equal(c.startupProbe.httpGet.path, '/ping');
    assert.ok(c.livenessProbe, 'a liveness probe');
    assert.ok(pod.terminationGracePeriodSeconds > (c.lifecycle.preStop.sleep.seconds as number));
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const svcPorts = byName('service.yaml').spec.ports.map((p: Doc) => p.targetPort);
    const named = c.ports.map((p: Doc) => p.name);
    for (const p of svcPorts) assert.ok(named.includes(p), `Service targetPort ${p} is not a container port`);
  });

  it('the KServe runtime sets only TS_* variables ortserve reads, and serves v1 and v2', () => {
    const runtime = byName('cluster-serving-runtime.yaml');
    const known = new Set(envMappings().map(([env]) => env));
    const container = runtime.spec.containers[0];
    assert.equal(container.name, 'kserve-container');
    for (const e of container.env as Doc[]) assert.ok(known.has(e.name), `${e.name} is not a variable ortserve reads`);
    assert.deepEqual(runtime.spec.protocolVersions, ['v1', 'v2']);
    for (const [file, protocol] of [['inferenceservice-v1.yaml', 'v1'], ['inferenceservice-v2.yaml', 'v2']] as const) {
      const model = byName(file).spec.predictor.model;
      assert.equal(model.runtime, runtime.metadata.name, file);
      assert.equal(model.protocolVersion, protocol, file);
      assert.ok(runtime.spec.supportedModelFormats.some((f: Doc) => f.name === model.modelFormat.name), file);
      for (const e of (model.env ?? []) as Doc[]) assert.ok(known.has(e.name), `${file}: ${e.name}`);
    }
    // The image's config lets these variables through.
    const docker = parseProperties(readFileSync(path.join(REPO, 'docker/config.properties'), 'utf8'));
    assert.equal(docker.get('enable_envvars_config'), 'true');
  });

  it('labels every manifest it checked', () => {
    assert.ok(manifests.every((m) => label(m).includes(m.file)));
  });
});
