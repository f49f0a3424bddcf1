/**
 * gRPC calls are logged in access_log.log in TorchServe's form (its GRPCInterceptor: `"gRPC <service>/<method>
 * HTTP/2.0" <code> <ms>`) and counted in Requests2XX/4XX/5XX, as HTTP requests are.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import { sample } from '../support/metrics.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { bearer, inferenceClient, oipClient, unary, unaryError, type AnyClient } from './support.js';

const HOST = os.hostname();

describe('gRPC calls in the access log and the request counters', () => {
  let s: TestServer;
  let client: AnyClient;

  before(async () => {
    s = await startTestServer();
    client = inferenceClient(s);
  });
  after(async () => {
    client.close();
    await s.stop();
  });

  const counters = async (): Promise<[number, number, number]> => {
    const body = await (await fetch(`${s.metricsUrl}/metrics`)).text();
    const get = (name: string): number => sample(body, name, { Level: 'Host', Hostname: HOST }) ?? 0;
    return [get('Requests2XX'), get('Requests4XX'), get('Requests5XX')];
  };

  it('logs and counts a successful call and a failed one', async () => {
    // Each scrape is itself a 2XX response of the metrics listener, counted when it is over.
    const [ok0, client0, server0] = await counters();
    await unary(client, 'Ping', {}, bearer(s, 'inference'));
    const err = await unaryError(client, 'Predictions', { model_name: 'nope', input: {} }, bearer(s, 'inference'));
    assert.equal(err.code, Code.NOT_FOUND);
    const [ok1, client1, server1] = await counters();
    assert.equal(ok1 - ok0, 2, 'the Ping and the first scrape');
    assert.equal(client1 - client0, 1, 'NOT_FOUND counts as a 4XX');
    assert.equal(server1 - server0, 0);

    const lines = readFileSync(path.join(s.dir, 'logs', 'access_log.log'), 'utf8').split('\n').filter((l) => l.includes('"gRPC '));
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^\S+ - \/127\.0\.0\.1:\d+ "gRPC org\.pytorch\.serve\.grpc\.inference\.InferenceAPIsService\/Ping HTTP\/2\.0" 0 \d+$/);
    assert.match(lines[1]!, /"gRPC org\.pytorch\.serve\.grpc\.inference\.InferenceAPIsService\/Predictions HTTP\/2\.0" 5 \d+$/);
  });

  it('logs and counts the KServe v2 service\'s calls on the same listener', async () => {
    const oip = oipClient(s);
    try {
      const [ok0, client0, server0] = await counters();
      await unary(oip, 'ServerLive', {}, bearer(s, 'inference'));
      const err = await unaryError(oip, 'ModelInfer', { model_name: 'nope', inputs: [] }, bearer(s, 'inference'));
      assert.equal(err.code, Code.NOT_FOUND);
      const [ok1, client1, server1] = await counters();
      assert.equal(ok1 - ok0, 2, 'ServerLive and the first scrape');
      assert.equal(client1 - client0, 1, 'NOT_FOUND counts as a 4XX');
      assert.equal(server1 - server0, 0);
      const lines = readFileSync(path.join(s.dir, 'logs', 'access_log.log'), 'utf8').split('\n').filter((l) => l.includes('GRPCInferenceService/'));
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, /"gRPC org\.pytorch\.serve\.grpc\.openinference\.GRPCInferenceService\/ServerLive HTTP\/2\.0" 0 \d+$/);
      assert.match(lines[1]!, /"gRPC org\.pytorch\.serve\.grpc\.openinference\.GRPCInferenceService\/ModelInfer HTTP\/2\.0" 5 \d+$/);
    } finally {
      oip.close();
    }
  });
});
