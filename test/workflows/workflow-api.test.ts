/**
 * The workflow API on a real server: the example events workflow (model-store/events_workflow.war)
 * answers what events.mar answers; register, list, describe and unregister with TorchServe's messages;
 * bad workflows are refused before anything is registered; workflows stay out of snapshots.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';
import { eventText, readSplit } from '../../tools/taxonomy/dataset.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { call, writeWar } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STORE = path.join(ROOT, 'model-store');

describe('workflows', () => {
  let s: TestServer;
  let mgmt: Record<string, string>;
  let inf: Record<string, string>;
  const m = (p: string, init?: RequestInit) => call(`${s.managementUrl}${p}`, mgmt, init);
  const predict = (p: string, body: string, json = false) =>
    call(`${s.inferenceUrl}${p}`, inf, { method: 'POST', body, headers: json ? { 'Content-Type': 'application/json' } : {} });
  const modelNames = async (): Promise<string[]> => ((await m('/models')).body.models as Array<{ modelName: string }>).map((x) => x.modelName);
  const extracted = (): number => readdirSync(path.join(s.config.tempDir, 'ortserve-models')).length;

  before(async () => {
    s = await startTestServer();
    mgmt = s.auth('management');
    inf = s.auth('inference');
    for (const f of ['taxonomy.mar', 'music_subtaxonomy.mar', 'events.mar', 'events_workflow.war']) copyFileSync(path.join(STORE, f), path.join(s.modelStore, f));
    await s.register('url=events.mar&initial_workers=1&batch_size=8&max_batch_delay=10');
  });
  after(() => s.stop());

  it('registers the example workflow and its nodes as <workflow>__<node> models', async () => {
    const r = await m('/workflows?url=events_workflow.war', { method: 'POST' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { status: 'Workflow events_workflow has been registered and scaled successfully.' });
    const names = await modelNames();
    for (const n of ['merge', 'music_subtaxonomy', 'pre_processing', 'route_music', 'taxonomy']) assert.ok(names.includes(`events_workflow__${n}`), n);
    const node = (await m('/models/events_workflow__taxonomy')).body[0];
    assert.equal(node.batchSize, 8);
    assert.equal(node.maxBatchDelay, 10);
    assert.equal(node.minWorkers, 1);
  });

  it('answers through /wfpredict what events.mar answers, line by line and for several lines', async () => {
    const sample = readFileSync(path.join(ROOT, 'examples/taxonomy/sample.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    const test = readSplit('test').slice(0, 16).map(eventText);
    let music = 0;
    for (const text of [...sample, ...test]) {
      const [wf, ev] = await Promise.all([predict('/wfpredict/events_workflow', text), predict('/predictions/events', text)]);
      assert.equal(wf.status, 200, wf.text);
      assert.equal(wf.headers.get('content-type'), 'application/json');
      assert.equal(wf.text, ev.text, text);
      if (wf.body.taxonomy === 'music') music++;
    }
    assert.ok(music > 0, 'no music text among the inputs');
    const lines = [...sample, ...test].join('\n');
    const [wf, ev] = await Promise.all([predict('/wfpredict/events_workflow', lines), predict('/predictions/events', lines)]);
    assert.equal(wf.text, ev.text);
    assert.equal(wf.body.length, sample.length + test.length);
    const noMusic = test.filter((_, i) => (ev.body as Array<{ taxonomy: string }>)[sample.length + i]!.taxonomy !== 'music').slice(0, 3).join('\n');
    assert.equal((await predict('/wfpredict/events_workflow', noMusic)).text, (await predict('/predictions/events', noMusic)).text);
  });

  it('answers a JSON request with ranked labels, as events.mar', async () => {
    const texts = readFileSync(path.join(ROOT, 'examples/taxonomy/sample.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    for (const text of texts) {
      const body = JSON.stringify({ text, top_k: 3 });
      const [wf, ev] = await Promise.all([predict('/wfpredict/events_workflow', body, true), predict('/predictions/events', body, true)]);
      assert.equal(wf.status, 200, wf.text);
      const labels = (x: any) => x?.map((r: { label: string }) => r.label) ?? null;
      assert.deepEqual(labels(wf.body.taxonomy), labels(ev.body.taxonomy));
      assert.deepEqual(labels(wf.body.subtaxonomy), labels(ev.body.subtaxonomy));
      // Labels and their order are identical; scores within 0.01, not 1e-5: the int8 encoders run from the
      // shared-weights ORT-format sessions (model-config.yaml sharedWeights, default true) give scores that
      // differ from a private session's by up to 0.006 here (0.8893 vs 0.8950 on the first sample), and the
      // workflow's and events.mar's sessions are not built alike. With sharedWeights false they agree to 1e-5.
      wf.body.taxonomy.forEach((r: { score: number }, i: number) => assert.ok(Math.abs(r.score - ev.body.taxonomy[i].score) < 0.01, `${r.score} vs ${ev.body.taxonomy[i].score}`));
    }
  });

  it('fails a request that a node cannot answer with 500 "Error executing <node>"', async () => {
    const r = await predict('/wfpredict/events_workflow', '   ');
    assert.equal(r.status, 500);
    assert.deepEqual(r.body, { code: 500, type: 'InternalServerException', message: 'Error executing pre_processing' });
  });

  it('lists and describes workflows', async () => {
    assert.deepEqual((await m('/workflows')).body, { workflows: [{ workflowName: 'events_workflow', workflowUrl: 'events_workflow.war' }] });
    assert.deepEqual((await m('/workflows?limit=1')).body, { nextPageToken: '1', workflows: [{ workflowName: 'events_workflow', workflowUrl: 'events_workflow.war' }] });
    const d = await m('/workflows/events_workflow');
    assert.equal(d.status, 200);
    assert.deepEqual(d.body, [
      {
        workflowName: 'events_workflow',
        workflowUrl: 'events_workflow.war',
        minWorkers: 1,
        maxWorkers: 1,
        batchSize: 8,
        maxBatchDelay: 10,
        workflowDag: '{pre_processing=[taxonomy, route_music], taxonomy=[route_music, merge], route_music=[music_subtaxonomy], music_subtaxonomy=[merge]}',
      },
    ]);
    assert.equal((await m('/workflows', { method: 'PUT' })).status, 405);
    assert.equal((await m('/workflows/events_workflow', { method: 'PUT' })).status, 405);
  });

  it('refuses a second registration of the same name with 409', async () => {
    const r = await m('/workflows?url=events_workflow.war', { method: 'POST' });
    assert.equal(r.status, 409);
    assert.deepEqual(r.body, { code: 409, type: 'ConflictStatusException', message: 'Workflow events_workflow is already registered.' });
  });

  it('leaves workflow nodes out of snapshots', async () => {
    const dir = path.join(s.config.logLocation, 'config');
    const newest = readdirSync(dir).filter((f) => f.endsWith('.cfg')).sort().pop()!;
    const text = readFileSync(path.join(dir, newest), 'utf8');
    assert.match(text, /events\.mar/);
    assert.doesNotMatch(text, /events_workflow/);
  });

  it('unregisters a workflow and its nodes', async () => {
    const r = await m('/workflows/events_workflow', { method: 'DELETE' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'Workflow "events_workflow" unregistered' });
    assert.ok(!(await modelNames()).some((n) => n.startsWith('events_workflow__')));
    const missing = { code: 404, type: 'WorkflowNotFoundException', message: 'Workflow not found: events_workflow' };
    assert.deepEqual((await m('/workflows/events_workflow')).body, missing);
    assert.deepEqual((await m('/workflows/events_workflow', { method: 'DELETE' })).body, missing);
    assert.deepEqual((await predict('/wfpredict/events_workflow', 'x')).body, missing);
    assert.deepEqual((await m('/workflows')).body, { workflows: [] });
  });

  it('returns an object of the leaves for several leaves, with each node fed as TorchServe feeds it', async () => {
    const handler = `
export function pre(data) { return data && data.map((row) => Buffer.from(row.body).toString('utf8').toUpperCase()); }
export function left(data) { return data && data.map((row) => ({ got: Buffer.from(row.body).toString('utf8') })); }
export function right(data) { return data && data.map((row) => ({ keys: Object.keys(row).sort() })); }
export function join(data) { return data && data.map((row) => ({ pre: Buffer.from(row.pre).toString('utf8'), left: JSON.parse(Buffer.from(row.left).toString('utf8')) })); }
`;
    const war = await writeWar(s.modelStore, 'fan', 'dag:\n  pre: [left, join]\n  left: [right, join]\n', handler);
    assert.equal((await m(`/workflows?url=${war}`, { method: 'POST' })).status, 200);
    const r = await predict('/wfpredict/fan', 'hello');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { right: { keys: ['body'] }, join: { pre: 'HELLO', left: { got: 'HELLO' } } });
    assert.equal((await m('/workflows/fan', { method: 'DELETE' })).status, 200);
  });

  describe('bad workflows: a clear error and nothing registered', () => {
    const handler = 'export function pre(data) { return data && data.map((r) => r.body); }\nexport function post(data) { return data && data.map((r) => r.body); }\n';
    const cases: Array<[string, string, string | undefined, number, Record<string, unknown>]> = [
      ['cycle', 'models:\n  m: {url: taxonomy.mar}\ndag:\n  pre: [m]\n  m: [post]\n  post: [m]\n', handler, 400, { type: 'InvalidDAGException', message: 'loop exception' }],
      ['cycle3', 'dag:\n  pre: [a]\n  a: [b]\n  b: [post]\n  post: [a]\n', 'export const a = () => 0, b = () => 0;\n' + handler, 400, { type: 'InvalidDAGException', message: 'Not a valid DAG' }],
      ['unknown', 'models:\n  m: {url: taxonomy.mar}\ndag:\n  pre: [m]\n  m: [mystery]\n', handler, 400, {
        type: 'InvalidWorkflowException',
        message: 'DAG node "mystery" is neither a model of the specification\'s "models" nor a function exported by the workflow handler handler.ts.',
      }],
      ['nohandler', 'models:\n  m: {url: taxonomy.mar}\ndag:\n  pre: [m]\n', undefined, 400, {
        type: 'InvalidWorkflowException',
        message: 'DAG node "pre" is not a model of the specification\'s "models", and the workflow archive has no handler to run it as a function.',
      }],
      ['nomar', 'models:\n  m: {url: nowhere.mar}\ndag:\n  pre: [m]\n  m: [post]\n', handler, 400, { type: 'InvalidWorkflowException', message: 'Workflow node "m": Model not found at: nowhere.mar' }],
      ['badyaml', 'models: [\n', handler, 400, { type: 'InvalidWorkflowException' }],
    ];
    for (const [name, spec, h, status, body] of cases) {
      it(`${name}: ${status}`, async () => {
        const before = { models: await modelNames(), dirs: extracted() };
        const war = await writeWar(s.modelStore, name, spec, h);
        const r = await m(`/workflows?url=${war}`, { method: 'POST' });
        assert.equal(r.status, status, r.text);
        assert.equal(r.body.code, status);
        for (const [k, v] of Object.entries(body)) assert.equal(r.body[k], v, r.text);
        assert.deepEqual(await modelNames(), before.models);
        assert.equal(extracted(), before.dirs);
        assert.deepEqual((await m('/workflows')).body, { workflows: [] });
      });
    }

    it('a spec file missing from the archive: 400', async () => {
      const zip = new AdmZip();
      zip.addFile('WAR-INF/MANIFEST.json', Buffer.from(JSON.stringify({ createdOn: '01/01/2026 00:00:00', workflow: { workflowName: 'nospec', specFile: 'spec.yaml' }, archiverVersion: '0.2.15' })));
      zip.writeZip(path.join(s.modelStore, 'nospec.war'));
      const r = await m('/workflows?url=nospec.war', { method: 'POST' });
      assert.deepEqual(r.body, { code: 400, type: 'InvalidWorkflowException', message: 'The spec file "spec.yaml" named in the workflow manifest is missing from the archive.' });
    });

    it('a missing archive: 404; no url: 400', async () => {
      assert.deepEqual((await m('/workflows?url=nope.war', { method: 'POST' })).body, { code: 404, type: 'WorkflowNotFoundException', message: 'Workflow not found in workflow store: nope.war' });
      assert.deepEqual((await m('/workflows', { method: 'POST' })).body, { code: 400, type: 'BadRequestException', message: 'Parameter url is required.' });
    });

    it('a node that fails to load: 500 with the failures, and the other nodes unregistered', async () => {
      writeFileSync(path.join(s.modelStore, 'broken.mar'), 'not a zip');
      const before = await modelNames();
      const war = await writeWar(s.modelStore, 'broken', 'models:\n  m: {url: broken.mar}\ndag:\n  pre: [m]\n  m: [post]\n', handler);
      const r = await m(`/workflows?url=${war}`, { method: 'POST' });
      assert.equal(r.status, 500, r.text);
      assert.equal(r.body.type, 'WorkflowException');
      assert.match(r.body.message, /^Workflow broken has failed to register\. Failures: \[Workflow Node broken__m failed to register\. Details: .+\]$/);
      assert.deepEqual(await modelNames(), before);
    });
  });
});

describe('workflow registration is a deliberate act', () => {
  it('answers POST and DELETE /workflows with 405 unless enable_model_api=true, as /models', async () => {
    const s = await startTestServer({ properties: { enable_model_api: 'false' } });
    try {
      copyFileSync(path.join(STORE, 'events_workflow.war'), path.join(s.modelStore, 'events_workflow.war'));
      const mgmt = s.auth('management');
      for (const [p, method] of [['/workflows?url=events_workflow.war', 'POST'], ['/workflows/events_workflow', 'DELETE']] as const) {
        const r = await call(`${s.managementUrl}${p}`, mgmt, { method });
        assert.equal(r.status, 405, `${method} ${p}`);
        assert.equal(r.body.type, 'MethodNotAllowedException');
      }
      assert.deepEqual((await call(`${s.managementUrl}/workflows`, mgmt)).body, { workflows: [] });
    } finally {
      await s.stop();
    }
  });
});
