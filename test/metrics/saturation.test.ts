/**
 * ortserve's saturation counters through a real server: queue_full rejections, the queue depth and busy
 * gauges, dropped jobs of departed clients, and worker restarts. Each step waits for a state read from
 * /metrics itself (polling), never for a fixed delay.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { writeProbeMar } from '../support/archives.js';
import { sample } from '../support/metrics.js';
import { startTestServer, type TestServer } from '../support/server.js';


describe('saturation metrics', () => {
  let s: TestServer;
  const mv = { model: 'slow', version: '1.0' };
  const scrape = async (): Promise<string> => (await fetch(`${s.metricsUrl}/metrics`)).text();
  /** Polls /metrics until `name{labels}` has `value` (10 s at most). */
  async function until(name: string, labels: Record<string, string>, value: number): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const body = await scrape();
      if (sample(body, name, labels) === value) return body;
      if (Date.now() > deadline) assert.fail(`${name} ${JSON.stringify(labels)} never became ${value}; last:\n${body}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  before(async () => {
    s = await startTestServer({ properties: { job_queue_size: '1' } });
    writeProbeMar(s.modelStore, { name: 'slow' });
    await s.register('url=slow.mar&initial_workers=1');
  });
  after(() => s.stop());

  it('counts queue_full rejections and dropped jobs, and shows queue depth and busy workers', async () => {
    const busy = s.predictJson('slow', { action: 'sleep', ms: 1500 });
    await until('ortserve_workers', { ...mv, state: 'busy' }, 1);
    const ac = new AbortController();
    const abandoned = fetch(`${s.inferenceUrl}/predictions/slow`, {
      method: 'POST',
      headers: { ...s.auth('inference'), 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'batch' }),
      signal: ac.signal,
    }).catch(() => null);
    const queued = await until('ortserve_queue_depth', mv, 1);
    assert.equal(sample(queued, 'ortserve_inflight_requests', mv), 2);
    const rejected = await s.predictJson('slow', { action: 'batch' });
    assert.equal(rejected.status, 503);
    ac.abort();
    await abandoned;
    // The server saw the client go (the in-flight gauge drops at once) while the sleeping batch still runs.
    await until('ortserve_inflight_requests', mv, 1);
    assert.equal((await busy).status, 200);
    // The next request runs only after the abandoned job was skipped.
    assert.equal((await s.predictJson('slow', { action: 'batch' })).status, 200);
    const body = await until('ortserve_inflight_requests', mv, 0);
    assert.equal(sample(body, 'ortserve_rejected_requests_total', { ...mv, reason: 'queue_full' }), 1);
    assert.equal(sample(body, 'ortserve_dropped_jobs_total', mv), 1);
    assert.equal(sample(body, 'ortserve_queue_depth', mv), 0);
    assert.equal(sample(body, 'ortserve_batch_size_count', mv), 2, 'the sleeping batch and the last one; never the abandoned job');
    assert.equal(sample(body, 'ortserve_request_duration_seconds_count', { ...mv, code: '503' }), 1);
  });

  it('counts a worker restart after the thread died', async () => {
    assert.equal((await s.predictJson('slow', { action: 'exit' })).status, 500);
    const body = await until('ortserve_worker_restarts_total', mv, 1);
    await until('ortserve_workers', { ...mv, state: 'ready' }, 1);
    assert.equal(sample(body, 'ortserve_model_loads_total', { ...mv, result: 'success' }), 1, 'a restart is not a model load');
  });
});
