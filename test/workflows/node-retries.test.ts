/**
 * Workflow nodes at run time with TorchServe's semantics (pytorch/serve DagExecutor.invokeModel): a node
 * is tried once plus `retry-attempts` more times, each try limited to `timeout-ms` milliseconds; when
 * every try failed the request gets 500 "Error executing <node>" (TorchServe's message after its split
 * on ':').
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { call, writeWar } from './helpers.js';

// Module state lives as long as the node's one worker: the first call of each node fails, later ones succeed.
const HANDLER = `
let calls = 0;
export function flaky(data) {
  if (!data) return;
  calls += 1;
  if (calls === 1) throw new Error('the first call fails');
  return data.map(() => ({ calls }));
}
export async function slow(data) {
  if (!data) return;
  await new Promise((resolve) => setTimeout(resolve, 4000));
  return data.map(() => ({ late: true }));
}
`;

describe('workflow nodes: retry-attempts and timeout-ms', () => {
  let s: TestServer;
  let mgmt: Record<string, string>;
  let inf: Record<string, string>;
  const register = async (name: string, models: string, dag: string): Promise<void> => {
    const war = await writeWar(s.modelStore, name, `${models}dag:\n${dag}`, HANDLER);
    const r = await call(`${s.managementUrl}/workflows?url=${war}`, mgmt, { method: 'POST' });
    assert.equal(r.status, 200, r.text);
  };
  const predict = (name: string) => call(`${s.inferenceUrl}/wfpredict/${name}`, inf, { method: 'POST', body: 'x' });

  before(async () => {
    s = await startTestServer();
    mgmt = s.auth('management');
    inf = s.auth('inference');
  });
  after(() => s.stop());

  it('retries a failed node once with retry-attempts: 1 (200, the second call answers)', async () => {
    await register('retry_one', 'models:\n  retry-attempts: 1\n', '  flaky: []\n');
    const r = await predict('retry_one');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { calls: 2 });
  });

  it("retries once by default (TorchServe's default retry-attempts is 1)", async () => {
    await register('retry_default', '', '  flaky: []\n');
    const r = await predict('retry_default');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { calls: 2 });
  });

  it('does not retry with retry-attempts: 0: 500 "Error executing flaky", and the node was called once', async () => {
    await register('retry_zero', 'models:\n  retry-attempts: 0\n', '  flaky: []\n');
    const r = await predict('retry_zero');
    assert.equal(r.status, 500, r.text);
    assert.deepEqual(r.body, { code: 500, type: 'InternalServerException', message: 'Error executing flaky' });
    // The node ran exactly once: its next call is its second.
    assert.deepEqual((await predict('retry_zero')).body, { calls: 2 });
  });

  it('gives up on a slow node after timeout-ms milliseconds: 500 long before the node would answer', async () => {
    await register('too_slow', 'models:\n  retry-attempts: 0\n  timeout-ms: 300\n', '  slow: []\n');
    const started = Date.now();
    const r = await predict('too_slow');
    const took = Date.now() - started;
    assert.equal(r.status, 500, r.text);
    assert.deepEqual(r.body, { code: 500, type: 'InternalServerException', message: 'Error executing slow' });
    // Generous: the node itself takes 4 s; milliseconds read as seconds would wait 300 s.
    assert.ok(took < 3500, `answered after ${took} ms`);
  });
});
