/**
 * Issue 13, item 10: what /metrics shows about other clients' predictions. `prediction_metrics=false`
 * leaves out the families derived from predictions (labels, token counts), and the metrics listener
 * bound to loopback refuses a Host header that is not a loopback name (DNS rebinding from a browser).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startTestServer, type TestServer } from '../support/server.js';
import { writeClassifierMar } from '../ui/support.js';

/** GET /metrics with a Host header of our choosing (fetch would not let us set it). */
function getWithHost(url: string, host: string | null): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = host === null ? {} : { Host: host };
    const req = http.request(`${url}/metrics`, { headers, setHost: host !== null }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const PREDICTION_FAMILIES = ['ortserve_predicted_labels_total', 'ortserve_input_tokens', 'ortserve_unknown_tokens_total', 'ortserve_batch_padded_tokens'];

describe('the metrics listener on loopback checks the Host header (issue 13)', () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
  });
  after(() => s.stop());

  it('refuses a page\'s own domain resolved to 127.0.0.1 (DNS rebinding) with 403', async () => {
    const port = new URL(s.metricsUrl!).port;
    for (const host of [`evil.example:${port}`, 'evil.example', `localhost.evil.example:${port}`, `10.0.0.1:${port}`]) {
      const r = await getWithHost(s.metricsUrl!, host);
      assert.equal(r.status, 403, host);
      const body = JSON.parse(r.body) as { code: number; type: string; message: string };
      assert.equal(body.code, 403);
      assert.equal(body.type, 'ForbiddenException');
      assert.match(body.message, /DNS rebinding/);
      assert.doesNotMatch(r.body, /ortserve_/);
    }
  });

  it('serves loopback names and addresses, and clients that send no Host', async () => {
    const port = new URL(s.metricsUrl!).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `127.0.0.5:${port}`, `[::1]:${port}`, null]) {
      const r = await getWithHost(s.metricsUrl!, host);
      assert.equal(r.status, 200, String(host));
      assert.match(r.body, /ortserve_inflight_requests/);
    }
  });
});

describe('prediction_metrics=false (issue 13)', { timeout: 60_000 }, () => {
  let s: TestServer;
  let body: string;

  before(async () => {
    s = await startTestServer({ properties: { prediction_metrics: 'false' } });
    await writeClassifierMar(s.modelStore, 'tiny');
    await s.register('url=tiny.mar&initial_workers=1');
    const r = await request(s.inferenceUrl).post('/predictions/tiny').set(s.auth('inference')).type('text').send('a jazz concert tonight');
    assert.equal(r.status, 200);
    body = (await request(s.metricsUrl!).get('/metrics')).text;
  });
  after(() => s.stop());

  it('leaves out the labels and token counts of predictions', () => {
    for (const family of PREDICTION_FAMILIES) assert.doesNotMatch(body, new RegExp(`^${family}`, 'm'), family);
  });

  it('keeps the families about the server itself', () => {
    for (const family of ['ortserve_request_duration_seconds_count', 'ortserve_inference_seconds_count', 'ts_inference_requests_total']) {
      assert.match(body, new RegExp(`^${family}\\{`, 'm'), family);
    }
  });
});
