import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { javaDouble } from '../../src/metrics/torchserve-text.js';
import { writeProbeMar } from '../support/archives.js';
import { sample } from '../support/metrics.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { writeClassifierMar } from '../ui/support.js';

const HOST = os.hostname();

async function scrape(s: TestServer, query = ''): Promise<{ status: number; type: string | null; body: string }> {
  assert.ok(s.metricsUrl, 'the metrics listener is started');
  const r = await fetch(`${s.metricsUrl}/metrics${query}`);
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}


describe('metrics API, prometheus mode (ortserve default)', () => {
  let s: TestServer;
  let first: string;
  let second: string;
  const statuses: number[] = [];

  before(async () => {
    // metrics_mode is not set: ortserve's default (prometheus) must apply.
    s = await startTestServer({ properties: { batch_scheduler: 'torchserve' } });
    writeProbeMar(s.modelStore, { name: 'probe' });
    writeProbeMar(s.modelStore, { name: 'idle' });
    await writeClassifierMar(s.modelStore, 'tiny');
    await s.register('url=probe.mar&initial_workers=1&batch_size=4&max_batch_delay=5000');
    await s.register('url=tiny.mar&initial_workers=1');
    await s.register('url=idle.mar&initial_workers=0');
    const inf = s.auth('inference');
    // Four concurrent requests: the first waits (up to 5 s) until the batch of 4 is full.
    const batch = await Promise.all([1, 2, 3, 4].map(() => s.predictJson('probe', { action: 'batch' })));
    statuses.push(...batch.map((r) => r.status));
    statuses.push((await request(s.inferenceUrl).post('/predictions/tiny/1.0').set(inf).type('text').send('a jazz concert tonight')).status);
    statuses.push((await s.predictJson('probe', { action: 'throw', message: 'boom' })).status);
    statuses.push((await request(s.inferenceUrl).post('/predictions/idle').set(inf).send('x')).status);
    statuses.push((await request(s.inferenceUrl).post('/predictions/nope').set(inf).send('x')).status);
    statuses.push((await request(s.inferenceUrl).post('/predictions/probe').set('Authorization', 'Bearer wrong').send('x')).status);
    first = (await scrape(s)).body;
    second = (await scrape(s)).body;
  });
  after(() => s.stop());

  it('sent the traffic the counts below assume', () => {
    // A handler that throws gets TorchServe's 503 (PredictionException's default status).
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 503, 503, 404, 400]);
  });

  it('counts every response of every listener in Requests2XX/4XX/5XX, in TorchServe text style', () => {
    // 3 registrations + 5 predictions; the scrape itself counts once sent, so the second scrape sees the first.
    assert.ok(first.includes(`\nRequests2XX{Level="Host",Hostname="${HOST}",} 8.0\n`), first);
    assert.ok(second.includes(`\nRequests2XX{Level="Host",Hostname="${HOST}",} 9.0\n`));
    assert.ok(first.includes(`\nRequests4XX{Level="Host",Hostname="${HOST}",} 2.0\n`));
    assert.ok(first.includes(`\nRequests5XX{Level="Host",Hostname="${HOST}",} 2.0\n`));
    assert.match(first, /Requests2XX\{Level="Host",Hostname=".*",\} \d+\.\d+/);
    assert.ok(first.includes('# HELP Requests2XX Torchserve prometheus counter metric with unit: Count\n# TYPE Requests2XX counter\n'));
    assert.ok(!/Requests2XX_total|_created/.test(first));
  });

  it('counts ts_inference_requests_total per model and URL version ("default" without one)', () => {
    assert.ok(first.includes(`\nts_inference_requests_total{model_name="probe",model_version="default",hostname="${HOST}",} 5.0\n`));
    assert.ok(first.includes(`\nts_inference_requests_total{model_name="tiny",model_version="1.0",hostname="${HOST}",} 1.0\n`));
    assert.ok(first.includes(`\nts_inference_requests_total{model_name="idle",model_version="default",hostname="${HOST}",} 1.0\n`));
    assert.ok(!first.includes('model_name="nope"'), 'an unknown model is not counted');
    assert.ok(first.includes('# HELP ts_inference_latency_microseconds Torchserve prometheus counter metric with unit: Microseconds\n'));
    assert.match(first, new RegExp(`\\nts_inference_latency_microseconds\\{model_name="probe",model_version="default",hostname="${HOST}",\\} \\d+\\.\\d+\\n`));
    assert.match(first, new RegExp(`\\nts_queue_latency_microseconds\\{model_name="tiny",model_version="1.0",hostname="${HOST}",\\} \\d+\\.\\d+\\n`));
    // idle never reached a worker: requests counted, no latency.
    assert.ok(!first.includes('ts_inference_latency_microseconds{model_name="idle"'));
  });

  it('has the gauges of TorchServe: QueueTime, WorkerThreadTime, WorkerLoadTime, system metrics', () => {
    assert.match(first, new RegExp(`\\nQueueTime\\{Level="Host",Hostname="${HOST}",\\} \\d+\\.0\\n`));
    assert.match(first, new RegExp(`\\nWorkerThreadTime\\{Level="Host",Hostname="${HOST}",\\} \\d+\\.0\\n`));
    assert.match(first, new RegExp(`\\nWorkerLoadTime\\{WorkerName="W-9000-probe_1.0",Level="Host",Hostname="${HOST}",\\} \\d+\\.0\\n`));
    assert.match(first, new RegExp(`\\nWorkerLoadTime\\{WorkerName="W-9001-tiny_1.0",Level="Host",Hostname="${HOST}",\\} \\d+\\.0\\n`));
    assert.ok(first.includes('# HELP WorkerLoadTime Torchserve prometheus gauge metric with unit: Milliseconds\n# TYPE WorkerLoadTime gauge\n'));
    for (const [name, unit] of [['CPUUtilization', 'Percent'], ['MemoryUsed', 'Megabytes'], ['MemoryAvailable', 'Megabytes'], ['MemoryUtilization', 'Percent'], ['DiskUsage', 'Gigabytes'], ['DiskUtilization', 'Percent'], ['DiskAvailable', 'Gigabytes']]) {
      assert.ok(first.includes(`# HELP ${name} Torchserve prometheus gauge metric with unit: ${unit}\n# TYPE ${name} gauge\n`), name);
      assert.match(first, new RegExp(`\\n${name}\\{Level="Host",Hostname="${HOST}",\\} \\d+(\\.\\d+)?(E\\d+)?\\n`), name);
    }
  });

  it('has ortserve histograms with exact counts', () => {
    const probe = { model: 'probe', version: '1.0' };
    assert.equal(sample(first, 'ortserve_request_duration_seconds_count', { ...probe, code: '200' }), 4);
    assert.equal(sample(first, 'ortserve_request_duration_seconds_count', { ...probe, code: '503' }), 1);
    assert.equal(sample(first, 'ortserve_request_duration_seconds_count', { model: 'tiny', version: '1.0', code: '200' }), 1);
    assert.equal(sample(first, 'ortserve_request_duration_seconds_count', { model: 'idle', version: '1.0', code: '503' }), 1);
    // Two batches of probe: the 4 concurrent requests, then the throwing one.
    assert.equal(sample(first, 'ortserve_batch_size_count', probe), 2);
    assert.equal(sample(first, 'ortserve_batch_size_sum', probe), 5);
    assert.equal(sample(first, 'ortserve_batch_size_bucket', { ...probe, le: '1' }), 1);
    assert.equal(sample(first, 'ortserve_batch_size_bucket', { ...probe, le: '2' }), 1);
    assert.equal(sample(first, 'ortserve_batch_size_bucket', { ...probe, le: '4' }), 2);
    assert.equal(sample(first, 'ortserve_queue_wait_seconds_count', probe), 5);
    assert.equal(sample(first, 'ortserve_batch_estimated_padded_tokens_count', probe), 2);
    assert.ok(first.includes('# TYPE ortserve_batch_size histogram\n'));
  });

  it('has ortserve gauges and counters read from the server state', () => {
    const probe = { model: 'probe', version: '1.0' };
    assert.equal(sample(first, 'ortserve_workers', { ...probe, state: 'ready' }), 1);
    assert.equal(sample(first, 'ortserve_workers', { ...probe, state: 'busy' }), 0);
    assert.equal(sample(first, 'ortserve_workers', { model: 'idle', version: '1.0', state: 'ready' }), 0);
    assert.equal(sample(first, 'ortserve_queue_depth', probe), 0);
    assert.equal(sample(first, 'ortserve_inflight_requests', probe), 0);
    assert.equal(sample(first, 'ortserve_rejected_requests_total', { model: 'idle', version: '1.0', reason: 'no_worker' }), 1);
    assert.equal(sample(first, 'ortserve_dropped_jobs_total', probe), 0);
    for (const m of ['probe', 'tiny', 'idle']) {
      assert.equal(sample(first, 'ortserve_model_loads_total', { model: m, version: '1.0', result: 'success' }), 1, m);
    }
    assert.ok(first.includes('# TYPE nodejs_eventloop_lag_seconds gauge\n'), 'prom-client default metrics');
  });

  it('answers with TorchServe content type and filters by name[]', async () => {
    const all = await scrape(s);
    assert.equal(all.status, 200);
    assert.equal(all.type, 'text/plain; version=0.0.4; charset=utf-8');
    const some = await scrape(s, '?name[]=Requests4XX&name[]=ortserve_batch_size');
    assert.deepEqual(
      some.body.split('\n').filter((l) => l.startsWith('# TYPE')),
      ['# TYPE Requests4XX counter', '# TYPE ortserve_batch_size histogram'],
    );
    assert.ok(some.body.startsWith(`# HELP Requests4XX Torchserve prometheus counter metric with unit: Count\n# TYPE Requests4XX counter\nRequests4XX{Level="Host",Hostname="${HOST}",} 2.0\n`));
    const encoded = await scrape(s, `?${encodeURIComponent('name[]')}=Requests4XX`);
    assert.equal(encoded.body, `# HELP Requests4XX Torchserve prometheus counter metric with unit: Count\n# TYPE Requests4XX counter\nRequests4XX{Level="Host",Hostname="${HOST}",} 2.0\n`);
    const unknown = await scrape(s, '?name[]=NoSuchMetric');
    assert.equal(unknown.status, 200);
    assert.equal(unknown.body, '');
    const other = await fetch(`${s.metricsUrl}/other`);
    assert.equal(other.status, 404);
  });
});

describe('metrics API, other modes', () => {
  it('legacy: only the three per-model counters', async () => {
    const s = await startTestServer({ properties: { metrics_mode: 'legacy' } });
    try {
      writeProbeMar(s.modelStore, { name: 'probe' });
      await s.register('url=probe.mar&initial_workers=1');
      assert.equal((await s.predictJson('probe/1.0', 'hello')).status, 200);
      const { body } = await scrape(s);
      assert.deepEqual(
        body.split('\n').filter((l) => l.startsWith('# TYPE')),
        ['# TYPE ts_inference_requests_total counter', '# TYPE ts_inference_latency_microseconds counter', '# TYPE ts_queue_latency_microseconds counter'],
      );
      assert.ok(body.includes(`\nts_inference_requests_total{model_name="probe",model_version="1.0",hostname="${HOST}",} 1.0\n`));
    } finally {
      await s.stop();
    }
  });

  it('log: /metrics answers 200 with an empty body', async () => {
    const s = await startTestServer({ properties: { metrics_mode: 'log' } });
    try {
      const r = await scrape(s);
      assert.equal(r.status, 200);
      assert.equal(r.body, '');
    } finally {
      await s.stop();
    }
  });

  it('enable_metrics_api=false: no metrics listener', async () => {
    const s = await startTestServer({ properties: { enable_metrics_api: 'false', disable_system_metrics: 'true' } });
    try {
      assert.equal(s.metricsUrl, null);
    } finally {
      await s.stop();
    }
  });

  it('disable_system_metrics=true: system families print HELP/TYPE without samples', async () => {
    const s = await startTestServer({ properties: { disable_system_metrics: 'true' } });
    try {
      const { body } = await scrape(s, '?name[]=CPUUtilization&name[]=DiskAvailable');
      assert.equal(
        body,
        '# HELP CPUUtilization Torchserve prometheus gauge metric with unit: Percent\n# TYPE CPUUtilization gauge\n' +
          '# HELP DiskAvailable Torchserve prometheus gauge metric with unit: Gigabytes\n# TYPE DiskAvailable gauge\n',
      );
    } finally {
      await s.stop();
    }
  });
});

describe('javaDouble', () => {
  it("prints like Java's Double.toString", () => {
    assert.equal(javaDouble(8), '8.0');
    assert.equal(javaDouble(0), '0.0');
    assert.equal(javaDouble(290371.129), '290371.129');
    assert.equal(javaDouble(0.001), '0.001');
    assert.equal(javaDouble(0.0001), '1.0E-4');
    assert.equal(javaDouble(1e7), '1.0E7');
    assert.equal(javaDouble(123456789.5), '1.234567895E8');
    assert.equal(javaDouble(-3), '-3.0');
    assert.equal(javaDouble(Number.NaN), 'NaN');
  });
});
