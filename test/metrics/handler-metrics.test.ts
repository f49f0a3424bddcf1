/**
 * Handler metrics end to end (real servers, real archives, real HTTP): `context.metrics` updates reaching
 * /metrics as metrics.yaml declares them (or auto-detected), ortserve's handler histograms and the text
 * classifier's drift metrics, and the metric log files of `log` and `legacy` modes.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { loadTextTokenizer } from '../../src/handlers/text/tokenizer.js';
import { FIXTURE_HANDLERS, writeMar } from '../support/archives.js';
import { sample } from '../support/metrics.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';
import { writeTinyTextModel } from '../support/tiny-model.js';
import { LABELS, writeClassifierMar } from '../ui/support.js';

const HOST = os.hostname();
const MP = { model: 'mp', version: '1.0' };
/** Lengths 2, 7 and 11: TextLength buckets le=2.5 → 1, le=7.5 → 2, +Inf → 3; sum 20. */
const TEXTS = ['hi', 'abcdefg', 'hello world'];

function writeMetricsProbe(modelStore: string): void {
  writeMar(modelStore, {
    name: 'mp',
    handler: 'metrics-probe.ts',
    files: { 'metrics-probe.ts': readFileSync(path.join(FIXTURE_HANDLERS, 'metrics-probe.ts')) },
  });
}

async function scrape(s: TestServer, query = ''): Promise<string> {
  const r = await fetch(`${s.metricsUrl!}/metrics${query}`);
  assert.equal(r.status, 200);
  return r.text();
}

/** Sends each text to mp, one after the other; returns the x-request-id of each response. */
async function sendTexts(s: TestServer, texts: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const text of texts) {
    const r = await request(s.inferenceUrl).post('/predictions/mp').set(s.auth('inference')).type('text').send(text);
    assert.equal(r.status, 200);
    assert.equal(r.text, text);
    ids.push(r.headers['x-request-id'] as string);
  }
  return ids;
}

/** The `# TYPE` names of TorchServe-style families (not ortserve's nor prom-client's defaults). */
const tsTypes = (body: string): string[] =>
  body
    .split('\n')
    .filter((l) => l.startsWith('# TYPE ') && !/^# TYPE (ortserve_|process_|nodejs_)/.test(l))
    .map((l) => l.slice('# TYPE '.length));

/** Every sample of `name`: its labels and value. */
function samples(body: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of body.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    out.push({ labels: Object.fromEntries([...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!])), value: Number(m[3]) });
  }
  return out;
}

const textLengthBlock = (labels: string, unit = 'chars'): string => {
  const counts: Array<[string, number]> = [
    ['0.005', 0], ['0.01', 0], ['0.025', 0], ['0.05', 0], ['0.075', 0], ['0.1', 0], ['0.25', 0], ['0.5', 0], ['0.75', 0],
    ['1.0', 0], ['2.5', 1], ['5.0', 1], ['7.5', 2], ['10.0', 2], ['+Inf', 3],
  ];
  return (
    `# HELP TextLength Torchserve prometheus histogram metric with unit: ${unit}\n# TYPE TextLength histogram\n` +
    counts.map(([le, n]) => `TextLength_bucket{${labels}le="${le}",} ${n}.0\n`).join('') +
    `TextLength_count{${labels}} 3.0\nTextLength_sum{${labels}} 20.0\n`
  );
};

const MP_LABELS = `ModelName="mp",Level="Model",Hostname="${HOST}",`;

describe('handler metrics, prometheus mode with a metrics.yaml', () => {
  let s: TestServer;
  let body: string;
  const yamlDir = makeTempDir('ortserve-metrics-yaml-');

  before(async () => {
    const yaml = path.join(yamlDir, 'metrics.yaml');
    writeFileSync(
      yaml,
      `dimensions:
  - &model_name "ModelName"
  - &level "Level"
ts_metrics:
  counter:
    - name: Requests2XX
      unit: Count
      dimensions: [*level, "Hostname"]
model_metrics:
  gauge:
    - name: HandlerTime
      unit: ms
      dimensions: [*model_name, *level]
    - name: PredictionTime
      unit: ms
      dimensions: [*model_name, *level]
  counter:
    - name: ProcessedTexts
      unit: count
      dimensions: [*model_name, *level]
  histogram:
    - name: TextLength
      unit: chars
      dimensions: [*model_name, *level]
`,
    );
    s = await startTestServer({ properties: { metrics_config: yaml } });
    writeMetricsProbe(s.modelStore);
    await s.register('url=mp.mar&initial_workers=1&batch_size=1');
    await sendTexts(s, TEXTS);
    body = await scrape(s);
  });
  after(async () => {
    await s.stop();
    rmSync(yamlDir, { recursive: true, force: true });
  });

  it('exposes only the declared TorchServe families, frontend then handler, in file order', () => {
    assert.deepEqual(tsTypes(body), ['Requests2XX counter', 'HandlerTime gauge', 'PredictionTime gauge', 'ProcessedTexts counter', 'TextLength histogram']);
    assert.ok(!body.includes('QueueTime'), 'QueueTime is not declared in this metrics.yaml');
    assert.ok(!body.includes('ts_inference_requests_total'));
    // The registration and the three predictions.
    assert.ok(body.includes(`\nRequests2XX{Level="Host",Hostname="${HOST}",} 4.0\n`), body);
  });

  it('counts a declared handler counter and observes a declared handler histogram', () => {
    assert.ok(body.includes(`# HELP ProcessedTexts Torchserve prometheus counter metric with unit: count\n# TYPE ProcessedTexts counter\nProcessedTexts{${MP_LABELS}} 3.0\n`), body);
    assert.ok(body.includes(textLengthBlock(MP_LABELS)), body);
  });

  it('has HandlerTime from the worker; PredictionTime without samples (a function handler has no BaseHandler)', () => {
    assert.match(body, new RegExp(`\\nHandlerTime\\{ModelName="mp",Level="Model",Hostname="${HOST}",\\} \\d+\\.\\d+(E-?\\d+)?\\n`));
    assert.equal(samples(body, 'HandlerTime').length, 1);
    assert.ok(body.includes('# HELP PredictionTime Torchserve prometheus gauge metric with unit: ms\n# TYPE PredictionTime gauge\n# HELP ProcessedTexts'));
    assert.equal(samples(body, 'PredictionTime').length, 0);
  });

  it('drops an undeclared handler metric without auto-detection', () => {
    assert.ok(!body.includes('LoopCount'));
  });

  it("has ortserve_handler_seconds for every batch, and no phase or token metrics for a handler that reports none", () => {
    assert.equal(sample(body, 'ortserve_handler_seconds_count', MP), 3);
    assert.equal(sample(body, 'ortserve_handler_seconds_bucket', { ...MP, le: '+Inf' }), 3);
    for (const name of ['ortserve_preprocess_seconds_count', 'ortserve_inference_seconds_count', 'ortserve_postprocess_seconds_count', 'ortserve_input_tokens_count', 'ortserve_batch_padded_tokens_count', 'ortserve_unknown_tokens_total']) {
      assert.equal(sample(body, name, MP), undefined, name);
    }
    assert.equal(samples(body, 'ortserve_predicted_labels_total').length, 0);
  });

  it('filters handler families by name[]', async () => {
    assert.equal(
      await scrape(s, '?name[]=ProcessedTexts'),
      `# HELP ProcessedTexts Torchserve prometheus counter metric with unit: count\n# TYPE ProcessedTexts counter\nProcessedTexts{${MP_LABELS}} 3.0\n`,
    );
  });
});

describe('handler metrics, model_metrics_auto_detect=true', () => {
  it('registers undeclared metrics with the dimensions of their first update, in order of arrival', async () => {
    const s = await startTestServer({ properties: { model_metrics_auto_detect: 'true' } });
    try {
      writeMetricsProbe(s.modelStore);
      await s.register('url=mp.mar&initial_workers=1&batch_size=1');
      await sendTexts(s, TEXTS);
      const body = await scrape(s);
      assert.ok(body.includes(`\nLoopCount{Stage="a",ModelName="mp",Level="Model",Hostname="${HOST}",} 6.0\n`), body);
      assert.ok(body.includes('# HELP LoopCount Torchserve prometheus counter metric with unit: count\n'));
      assert.ok(body.includes(`\nProcessedTexts{${MP_LABELS}} 3.0\n`));
      assert.ok(body.includes(textLengthBlock(MP_LABELS)), body);
      // Recorded while the handler loaded: it travels with the worker's `loaded` message.
      assert.ok(body.includes(`\nInitMetric{${MP_LABELS}} 1.0\n`), body);
      const types = tsTypes(body);
      // The default metrics.yaml: its 16 frontend families, then HandlerTime, PredictionTime, then the detected ones.
      assert.equal(types.length, 22, types.join('\n'));
      assert.deepEqual(types.slice(16), ['HandlerTime gauge', 'PredictionTime gauge', 'InitMetric counter', 'ProcessedTexts counter', 'TextLength histogram', 'LoopCount counter']);
      assert.ok(body.includes(`\nts_inference_requests_total{model_name="mp",model_version="default",hostname="${HOST}",} 3.0\n`));
    } finally {
      await s.stop();
    }
  });
});

describe('text classifier drift metrics', () => {
  const lines = ['a jazz concert tonight', 'football match ☃ xyzzy', 'cooking class'];
  let s: TestServer;
  let body: string;
  let answer: string[];
  let tokens: number[][];
  let unk: number;

  before(async () => {
    const modelDir = makeTempDir('ortserve-drift-model-');
    try {
      await writeTinyTextModel(modelDir, { labels: [...LABELS] });
      const tokenizer = loadTextTokenizer(modelDir);
      assert.notEqual(tokenizer.unkTokenId, null, 'the tiny tokenizer has [UNK]');
      unk = tokenizer.unkTokenId!;
      tokens = lines.map((l) => tokenizer.encode(l, 128));
    } finally {
      rmSync(modelDir, { recursive: true, force: true });
    }
    s = await startTestServer();
    await writeClassifierMar(s.modelStore, 'tiny');
    await s.register('url=tiny.mar&initial_workers=1');
    const r = await request(s.inferenceUrl).post('/predictions/tiny').set(s.auth('inference')).type('text').send(lines.join('\n'));
    assert.equal(r.status, 200);
    answer = JSON.parse(r.text) as string[];
    body = await scrape(s);
  });
  after(() => s.stop());

  const TINY = { model: 'tiny', version: '1.0' };

  it('the request had the tokens these assertions assume (one [UNK]: the snowman)', () => {
    assert.deepEqual(tokens.map((t) => t.length), [6, 10, 4]);
    assert.deepEqual(tokens.map((t) => t.filter((id) => id === unk).length), [0, 1, 0]);
    assert.equal(answer.length, 3);
    for (const label of answer) assert.ok(LABELS.includes(label), label);
  });

  it('observes every sequence in ortserve_input_tokens (special tokens included)', () => {
    const lengths = tokens.map((t) => t.length);
    assert.equal(sample(body, 'ortserve_input_tokens_count', TINY), 3);
    assert.equal(sample(body, 'ortserve_input_tokens_sum', TINY), lengths.reduce((a, b) => a + b, 0));
    for (const le of [4, 8, 16]) {
      assert.equal(sample(body, 'ortserve_input_tokens_bucket', { ...TINY, le: String(le) }), lengths.filter((n) => n <= le).length, `le=${le}`);
    }
  });

  it('counts the unknown tokens and the padded size of the run (longest × sequences)', () => {
    assert.equal(sample(body, 'ortserve_unknown_tokens_total', TINY), tokens.flat().filter((id) => id === unk).length);
    assert.equal(sample(body, 'ortserve_batch_padded_tokens_count', TINY), 1);
    assert.equal(sample(body, 'ortserve_batch_padded_tokens_sum', TINY), Math.max(...tokens.map((t) => t.length)) * 3);
  });

  it('counts the predicted labels, which are the labels of the response', () => {
    const got = samples(body, 'ortserve_predicted_labels_total').filter((x) => x.labels['model'] === 'tiny');
    assert.ok(got.every((x) => x.labels['output'] === 'label' && x.labels['version'] === '1.0'));
    const expected = new Map<string, number>();
    for (const label of answer) expected.set(label, (expected.get(label) ?? 0) + 1);
    assert.deepEqual(new Map(got.map((x) => [x.labels['label']!, x.value])), expected);
    assert.equal(got.reduce((a, x) => a + x.value, 0), 3);
  });

  it('times each phase once for the one batch, and reports PredictionTime (BaseHandler)', () => {
    for (const phase of ['handler', 'preprocess', 'inference', 'postprocess']) {
      assert.equal(sample(body, `ortserve_${phase}_seconds_count`, TINY), 1, phase);
    }
    assert.match(body, new RegExp(`\\nPredictionTime\\{ModelName="tiny",Level="Model",Hostname="${HOST}",\\} \\d+\\.\\d+(E-?\\d+)?\\n`));
    assert.match(body, new RegExp(`\\nHandlerTime\\{ModelName="tiny",Level="Model",Hostname="${HOST}",\\} \\d+\\.\\d+(E-?\\d+)?\\n`));
  });
});

const readLog = (s: TestServer, file: string): string[] =>
  readFileSync(path.join(s.config.logLocation, file), 'utf8').split('\n').filter((l) => l !== '');

const esc = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const TS = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3}`;

describe('metric log files', () => {
  it('log mode: empty /metrics; ts_metrics.log and model_metrics.log lines in TorchServe layout', async (t) => {
    const s = await startTestServer({ properties: { metrics_mode: 'log', model_metrics_auto_detect: 'true' } });
    t.after(() => rmSync(s.dir, { recursive: true, force: true }));
    const startSec = Math.floor(Date.now() / 1000);
    let ids: string[];
    try {
      writeMetricsProbe(s.modelStore);
      await s.register('url=mp.mar&initial_workers=1&batch_size=1');
      ids = await sendTexts(s, TEXTS.slice(0, 2));
      assert.equal(await scrape(s), '');
    } finally {
      // close() keeps the directory; it flushes and closes the log files.
      await s.close(1000);
    }
    const endSec = Math.floor(Date.now() / 1000);
    const stamp = (line: string): number => Number(/,timestamp:(\d+)$/.exec(line)![1]);

    const ts = readLog(s, 'ts_metrics.log');
    const r2xx = ts.filter((l) => l.includes(' - Requests2XX.'));
    // The registration, two predictions and the scrape.
    assert.equal(r2xx.length, 4, ts.join('\n'));
    for (const l of r2xx) {
      assert.match(l, new RegExp(`^${TS} - Requests2XX\\.Count:1\\.0\\|#Level:Host\\|#hostname:${esc(HOST)},timestamp:\\d+$`));
      assert.ok(stamp(l) >= startSec && stamp(l) <= endSec, l);
    }
    const inf = ts.filter((l) => l.includes(' - ts_inference_requests_total.'));
    assert.equal(inf.length, 2);
    assert.match(inf[0]!, new RegExp(`^${TS} - ts_inference_requests_total\\.Count:1\\.0\\|#model_name:mp,model_version:default\\|#hostname:${esc(HOST)},timestamp:\\d+$`));
    assert.equal(ts.filter((l) => / - QueueTime\.Milliseconds:\d+\.0\|#Level:Host\|#hostname:/.test(l)).length, 2);
    assert.ok(ts.some((l) => l.includes(' - CPUUtilization.Percent:')), 'the first system-metrics collection is logged');
    assert.ok(!ts.some((l) => l.includes('requestID')), 'frontend lines have no requestID');

    const model = readLog(s, 'model_metrics.log');
    const tail = (id: string) => `\\|#hostname:${esc(HOST)},requestID:${esc(id)},timestamp:\\d+$`;
    const expected = [
      // The load-time metric: no batch, so no request id.
      `^${TS} - InitMetric\\.count:1\\.0\\|#ModelName:mp,Level:Model\\|#hostname:${esc(HOST)},requestID:,timestamp:\\d+$`,
      ...ids.flatMap((id, i) => [
      `^${TS} - ProcessedTexts\\.count:1\\.0\\|#ModelName:mp,Level:Model${tail(id)}`,
      `^${TS} - TextLength\\.chars:${TEXTS[i]!.length}\\.0\\|#ModelName:mp,Level:Model${tail(id)}`,
      `^${TS} - LoopCount\\.count:2\\.0\\|#Stage:a,ModelName:mp,Level:Model${tail(id)}`,
      `^${TS} - HandlerTime\\.ms:[\\d.]+(E-?\\d+)?\\|#ModelName:mp,Level:Model${tail(id)}`,
      ]),
    ];
    assert.equal(model.length, expected.length, model.join('\n'));
    model.forEach((line, i) => assert.match(line, new RegExp(expected[i]!), `line ${i}`));
  });

  it('log_format=json: JSON lines with metric, type, unit, value, dimensions, hostname', async (t) => {
    const s = await startTestServer({ properties: { metrics_mode: 'log', log_format: 'json', disable_system_metrics: 'true' } });
    t.after(() => rmSync(s.dir, { recursive: true, force: true }));
    let ids: string[];
    try {
      writeMetricsProbe(s.modelStore);
      await s.register('url=mp.mar&initial_workers=1&batch_size=1');
      ids = await sendTexts(s, ['json please']);
    } finally {
      await s.close(1000);
    }
    const ts = readLog(s, 'ts_metrics.log').map((l) => JSON.parse(l) as Record<string, unknown>);
    const r2xx = ts.filter((e) => e['metric'] === 'Requests2XX');
    assert.equal(r2xx.length, 2);
    const { time, ...rest } = r2xx[0]!;
    assert.match(String(time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(rest, { logger: 'TS_METRICS', metric: 'Requests2XX', type: 'counter', unit: 'Count', value: 1, dimensions: { Level: 'Host' }, hostname: HOST });

    const model = readLog(s, 'model_metrics.log').map((l) => JSON.parse(l) as Record<string, unknown>);
    // Without auto-detection only the declared HandlerTime reaches the log.
    assert.deepEqual(model.map((e) => e['metric']), ['HandlerTime']);
    const { time: _t, value, ...handler } = model[0]!;
    assert.equal(typeof value, 'number');
    assert.deepEqual(handler, { logger: 'MODEL_METRICS', metric: 'HandlerTime', type: 'gauge', unit: 'ms', dimensions: { ModelName: 'mp', Level: 'Model' }, hostname: HOST, request_id: ids[0] });
  });

  it('legacy mode: /metrics has only the three ts_* families; the other families go to the metric logs', async (t) => {
    const s = await startTestServer({ properties: { metrics_mode: 'legacy', disable_system_metrics: 'true' } });
    t.after(() => rmSync(s.dir, { recursive: true, force: true }));
    let ids: string[];
    let body: string;
    try {
      writeMetricsProbe(s.modelStore);
      await s.register('url=mp.mar&initial_workers=1&batch_size=1');
      ids = await sendTexts(s, TEXTS.slice(0, 2));
      body = await scrape(s);
    } finally {
      await s.close(1000);
    }
    assert.deepEqual(body.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.slice('# TYPE '.length)), [
      'ts_inference_requests_total counter',
      'ts_inference_latency_microseconds counter',
      'ts_queue_latency_microseconds counter',
    ]);
    assert.ok(body.includes(`\nts_inference_requests_total{model_name="mp",model_version="default",hostname="${HOST}",} 2.0\n`));
    assert.ok(!body.includes('HandlerTime'));

    const ts = readLog(s, 'ts_metrics.log');
    assert.equal(ts.filter((l) => new RegExp(`^${TS} - Requests2XX\\.Count:1\\.0\\|#Level:Host\\|#hostname:${esc(HOST)},timestamp:\\d+$`).test(l)).length, 4);
    assert.ok(!ts.some((l) => l.includes('ts_inference_requests_total')), 'the exposed families are not logged');
    const model = readLog(s, 'model_metrics.log');
    assert.equal(model.length, 2, model.join('\n'));
    model.forEach((l, i) => assert.match(l, new RegExp(`^${TS} - HandlerTime\\.ms:[\\d.]+(E-?\\d+)?\\|#ModelName:mp,Level:Model\\|#hostname:${esc(HOST)},requestID:${esc(ids[i]!)},timestamp:\\d+$`)));
  });
});
