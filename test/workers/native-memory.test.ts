/**
 * Issue 13, item 8: memory outside the V8 heap. A handler that keeps 100 MB Buffers is bounded by its
 * worker's maxWorkerExternalMb (507 and a restart, as for the heap bound), and the process-wide
 * max_process_rss_mb refuses new predictions with 503 while the process is over it, and accepts them
 * again once memory is given back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { writeFixtureMar } from '../support/archives.js';
import { json } from '../support/http.js';
import { sample } from '../support/metrics.js';
import { startTestServer, type TestServer } from '../support/server.js';

const MB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function metric(s: TestServer, name: string, labels: Record<string, string>): Promise<number> {
  const r = await request(s.metricsUrl!).get('/metrics');
  return sample(r.text, name, labels) ?? 0;
}

describe('maxWorkerExternalMb bounds a worker\'s Buffers (issue 13)', { timeout: 60_000 }, () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
    writeFixtureMar(s.modelStore, 'faults.ts', 'hog', 'maxWorkerExternalMb: 150\n');
    await s.register('url=hog.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('a handler that keeps 100 MB Buffers gets 507 once over the bound, and a fresh thread serves', async () => {
    const rssBefore = process.memoryUsage.rss();
    const first = await s.predictJson('hog', { action: 'keepBuffers', mb: 100, tag: 'first' });
    assert.equal(first.status, 200, String(first.body));
    const thread = (json(first.body) as { threadId: number }).threadId;
    const restarts = await metric(s, 'ortserve_worker_restarts_total', { model: 'hog', version: '1.0' });
    const second = await s.predictJson('hog', { action: 'keepBuffers', mb: 100 });
    assert.equal(second.status, 507, String(second.body));
    assert.deepEqual(json(second.body), { code: 507, type: 'InternalServerException', message: 'Worker died.' });
    let fresh: { threadId: number; calls: number } | null = null;
    for (let i = 0; i < 100 && fresh === null; i++) {
      const r = await s.predictJson('hog', { action: 'info' });
      if (r.status === 200) fresh = json(r.body) as { threadId: number; calls: number };
      else await sleep(100);
    }
    assert.ok(fresh, 'the worker serves again');
    assert.notEqual(fresh.threadId, thread);
    assert.equal(fresh.calls, 1, 'a new thread, which kept nothing');
    assert.equal(await metric(s, 'ortserve_worker_restarts_total', { model: 'hog', version: '1.0' }), restarts + 1);
    // Unbounded, 200 MB would stay, and every further call would add 100 MB more.
    assert.ok(process.memoryUsage.rss() - rssBefore < 400 * MB, `the process grew by ${Math.round((process.memoryUsage.rss() - rssBefore) / MB)} MB`);
  });

  it('maxWorkerExternalMb: 0 means no bound', async () => {
    writeFixtureMar(s.modelStore, 'faults.ts', 'unbounded', 'maxWorkerExternalMb: 0\n');
    await s.register('url=unbounded.mar&initial_workers=1');
    for (let i = 0; i < 2; i++) assert.equal((await s.predictJson('unbounded', { action: 'keepBuffers', mb: 100 })).status, 200);
    await request(s.managementUrl).delete('/models/unbounded').set(s.auth('management')).expect(200);
  });
});

describe('max_process_rss_mb refuses new work while the process is over it (issue 13)', { timeout: 60_000 }, () => {
  let s: TestServer;

  before(async () => {
    // The server runs in this process: the bound is set 250 MB above what it uses now.
    const limitMb = Math.round(process.memoryUsage.rss() / MB) + 250;
    s = await startTestServer({ properties: { max_process_rss_mb: String(limitMb) } });
    writeFixtureMar(s.modelStore, 'faults.ts', 'hog', 'maxWorkerExternalMb: 0\n');
    writeFixtureMar(s.modelStore, 'faults.ts', 'other');
    await s.register('url=hog.mar&initial_workers=1');
    await s.register('url=other.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('answers 503 once the process is over the bound, and serves again when the memory is given back', async () => {
    assert.equal((await s.predictJson('other', { action: 'info' })).status, 200);
    let refused: { status: number; body: unknown } | null = null;
    for (let i = 0; i < 8 && refused === null; i++) {
      const r = await s.predictJson('hog', { action: 'keepBuffers', mb: 100 });
      if (r.status === 503) refused = r;
      else assert.equal(r.status, 200, String(r.body));
      await sleep(150);
    }
    assert.ok(refused, 'a prediction was refused');
    assert.match(json(refused.body).message, /short of memory .* max_process_rss_mb/);
    const other = await s.predictJson('other', { action: 'info' });
    assert.equal(other.status, 503, 'every model is refused new work');
    assert.ok((await metric(s, 'ortserve_rejected_requests_total', { model: 'other', version: '1.0', reason: 'memory' })) >= 1);
    // Unregistering the hog ends its thread and frees what it kept.
    await request(s.managementUrl).delete('/models/hog').set(s.auth('management')).expect(200);
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await s.predictJson('other', { action: 'info' })).status;
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200, 'served again once memory fell');
  });
});
