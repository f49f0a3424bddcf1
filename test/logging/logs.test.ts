/**
 * The log files under LOG_LOCATION (docs/logging.md): access_log.log, model_log.log and ts_log.log, in
 * TorchServe's text layout and as JSON lines. Each test sends known traffic, stops the server (which
 * flushes and closes the files) and only then reads them.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import request from 'supertest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { formatAccess, formatEvent } from '../../src/logging/format.js';
import { FIXTURE_HANDLERS, writeMar } from '../support/archives.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';

function writeLogProbe(modelStore: string, name = 'logprobe'): string {
  return writeMar(modelStore, {
    name,
    handler: 'log-probe.ts',
    files: { 'log-probe.ts': readFileSync(path.join(FIXTURE_HANDLERS, 'log-probe.ts')) },
  });
}

const readLines = (dir: string, file: string): string[] =>
  readFileSync(path.join(dir, 'logs', file), 'utf8').split('\n').filter((l) => l !== '');

interface Sent {
  method: string;
  path: string;
  status: number;
}

/** Known traffic on both listeners; returns what each request was and the status it got. */
async function traffic(s: TestServer): Promise<Sent[]> {
  const sent: Sent[] = [];
  const note = (method: string, p: string, status: number) => sent.push({ method, path: p, status });
  const inf = request(s.inferenceUrl);
  const mgmt = request(s.managementUrl);

  note('GET', '/ping', (await inf.get('/ping')).status);
  const ok = await inf.post('/predictions/logprobe?token=SECRET-QUERY').set(s.auth('inference')).type('text').send('hello-1');
  assert.equal(ok.status, 200);
  note('POST', '/predictions/logprobe', ok.status);
  const again = await inf.post('/predictions/logprobe').set(s.auth('inference')).type('text').send('hello-2');
  note('POST', '/predictions/logprobe', again.status);
  const missing = await inf.post('/predictions/nothere').set(s.auth('inference')).type('text').send('x');
  assert.equal(missing.status, 404);
  note('POST', '/predictions/nothere', missing.status);
  const noToken = await mgmt.get('/models');
  assert.notEqual(noToken.status, 200);
  note('GET', '/models', noToken.status);
  note('GET', '/models', (await mgmt.get('/models').set(s.auth('management'))).status);
  return sent;
}

function assertNoSecrets(s: TestServer, text: string): void {
  assert.ok(!text.includes('SECRET-QUERY'), 'query strings are not logged');
  assert.ok(!text.includes('Bearer'), 'no Authorization header');
  for (const kind of ['inference', 'management', 'API'] as const) {
    const key = s.tokens!.key(kind);
    assert.ok(!text.includes(key), `the ${kind} key is not logged`);
  }
  assert.ok(!text.includes('hello-1'), 'request bodies are not logged');
}

const sortKey = (x: Sent) => `${x.method} ${x.path} ${x.status}`;

describe('log files', () => {
  it('writes TorchServe-style access, model and server logs', async (t) => {
    const s = await startTestServer();
    let sent: Sent[];
    try {
      writeLogProbe(s.modelStore);
      const reg = await request(s.managementUrl).post('/models?url=logprobe.mar&initial_workers=1&synchronous=true').set(s.auth('management'));
      assert.equal(reg.status, 200);
      sent = [{ method: 'POST', path: '/models', status: 200 }, ...(await traffic(s))];
    } finally {
      // close() keeps the directory (stop() would delete it); it flushes and closes the log files.
      await s.close(1000);
    }
    t.after(() => rmSync(s.dir, { recursive: true, force: true }));

    const access = readLines(s.dir, 'access_log.log');
    assert.equal(access.length, sent.length, access.join('\n'));
    const pattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3} - \/127\.0\.0\.\d:\d+ "(GET|POST) (\S+) HTTP\/1\.1" (\d{3}) (\d+)$/;
    const logged = access.map((line) => {
      const m = pattern.exec(line);
      assert.ok(m, `access line in TorchServe's layout: ${line}`);
      return { method: m[1]!, path: m[2]!, status: Number(m[3]) };
    });
    assert.deepEqual(logged.map(sortKey).sort(), sent.map(sortKey).sort());
    assertNoSecrets(s, access.join('\n'));

    const model = readLines(s.dir, 'model_log.log');
    const worker = String.raw`W-\d+-logprobe_1\.0`;
    for (const body of ['hello-1', 'hello-2']) {
      assert.ok(
        model.some((l) => new RegExp(String.raw`^\S+ \[INFO \] ${worker}-stdout MODEL_LOG - LOG-PROBE-MARKER ${body}$`).test(l)),
        `stdout marker ${body} in:\n${model.join('\n')}`,
      );
      assert.ok(
        model.some((l) => new RegExp(String.raw`^\S+ \[WARN \] ${worker}-stderr MODEL_LOG - LOG-PROBE-STDERR ${body}$`).test(l)),
        `stderr marker ${body}`,
      );
    }
    assert.ok(model.some((l) => l.endsWith('MODEL_LOG - LOG-PROBE loaded')));

    const ts = readLines(s.dir, 'ts_log.log');
    assert.match(ts[0]!, /^\S+ \[INFO \] main ortserve - Inference API bound to http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(ts.some((l) => / \[INFO \] main ortserve - Management API bound to http:\/\/127\.0\.0\.2:\d+$/.test(l)));
    assert.ok(ts.some((l) => l.endsWith('main ortserve - Model server started.')));
    assert.ok(ts.some((l) => l.includes('MODEL_LOG - LOG-PROBE-MARKER hello-1')), 'handler output is in ts_log too, as in TorchServe');
  });

  it('writes JSON lines with log_format=json, for startup models too, and appends across restarts', async () => {
    const dir = makeTempDir();
    const servers: TestServer[] = [];
    try {
      mkdirSync(path.join(dir, 'model-store'), { recursive: true });
      writeLogProbe(path.join(dir, 'model-store'));
      const properties = { log_format: 'json', load_models: 'logprobe.mar' };
      const first = await startTestServer({ dir, properties });
      servers.push(first);
      const sent = await traffic(first);
      await first.stop();

      const access = readLines(dir, 'access_log.log').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(access.length, sent.length);
      for (const a of access) {
        assert.equal(a.logger, 'ACCESS_LOG');
        assert.equal(a.protocol, 'HTTP/1.1');
        assert.match(String(a.remote), /^\/127\.0\.0\.\d:\d+$/);
        assert.equal(typeof a.duration_ms, 'number');
        assert.ok((a.duration_ms as number) >= 0);
        assert.match(String(a.request_id), /^[0-9a-f-]{36}$/);
        assert.ok(!Number.isNaN(Date.parse(String(a.time))));
      }
      assert.deepEqual(
        access.map((a) => sortKey({ method: String(a.method), path: String(a.path), status: Number(a.status) })).sort(),
        sent.map(sortKey).sort(),
      );
      assertNoSecrets(first, readFileSync(path.join(dir, 'logs', 'access_log.log'), 'utf8'));

      const model = readLines(dir, 'model_log.log').map((l) => JSON.parse(l) as Record<string, string>);
      const marker = model.find((m) => m.message === 'LOG-PROBE-MARKER hello-1');
      assert.ok(marker, JSON.stringify(model));
      assert.equal(marker.logger, 'MODEL_LOG');
      assert.equal(marker.level, 'INFO');
      assert.match(marker.thread!, /^W-\d+-logprobe_1\.0-stdout$/);
      const warn = model.find((m) => m.message === 'LOG-PROBE-STDERR hello-2');
      assert.equal(warn?.level, 'WARN');
      assert.match(warn.thread!, /-stderr$/);

      const ts = readLines(dir, 'ts_log.log').map((l) => JSON.parse(l) as Record<string, string>);
      assert.ok(ts.some((e) => e.thread === 'main' && e.logger === 'ortserve' && e.message.startsWith('Inference API bound to ')));
      assert.ok(ts.some((e) => e.message === 'Model server started.'));

      // A restart in the same LOG_LOCATION appends.
      const second = await startTestServer({ dir, properties });
      servers.push(second);
      assert.equal((await request(second.inferenceUrl).get('/ping').set(second.auth('inference'))).status, 200);
      await second.stop();
      assert.equal(readLines(dir, 'access_log.log').length, sent.length + 1);
      const started = readLines(dir, 'ts_log.log').filter((l) => (JSON.parse(l) as { message: string }).message === 'Model server started.');
      assert.equal(started.length, 2);
    } finally {
      // A failed assertion must not leave a server (and its worker threads) running.
      await Promise.all(servers.map((x) => x.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads log_format from the config and ORTSERVE_LOG_FORMAT, which wins; rejects other values', () => {
    const dir = makeTempDir();
    try {
      assert.equal(loadConfig({}, {}, dir).logFormat, 'text');
      assert.equal(loadConfig({}, { ORTSERVE_LOG_FORMAT: 'JSON' }, dir).logFormat, 'json');
      assert.throws(() => loadConfig({}, { ORTSERVE_LOG_FORMAT: 'xml' }, dir), ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every record on one line: control characters are escaped', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 6);
    const access = formatAccess(
      { time, remote: '/127.0.0.1:1', method: 'GET', path: '/a\r\nforged "x"', protocol: 'HTTP/1.1', status: 404, durationMs: 1.6, requestId: null },
      'text',
    );
    assert.equal(access, '2026-01-02T03:04:05,006 - /127.0.0.1:1 "GET /a\\x0d\\x0aforged %22x%22 HTTP/1.1" 404 2\n');
    const event = formatEvent({ time, level: 'WARN', thread: 'W-9000-m_1.0-stderr', logger: 'MODEL_LOG', message: 'a\nb' }, 'text');
    assert.equal(event, '2026-01-02T03:04:05,006 [WARN ] W-9000-m_1.0-stderr MODEL_LOG - a\\x0ab\n');
    const json = formatEvent({ time, level: 'INFO', thread: 'main', logger: 'ortserve', message: 'a\nb' }, 'json');
    assert.equal(json.split('\n').length, 2);
    assert.equal((JSON.parse(json) as { message: string }).message, 'a\nb');
  });
});
