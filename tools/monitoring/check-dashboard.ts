/**
 * `npm run test:monitoring`: runs every PromQL query of the Grafana dashboard against a real Prometheus that
 * scrapes a real ortserve, and fails on a query that does not parse or returns no series.
 *
 * 1. Installs Debian's `prometheus` with apt-get when /usr/bin/prometheus is missing (root only).
 * 2. Starts ortserve in this process on loopback (free ports, a temporary directory), serving
 *    model-store/taxonomy.mar and events.mar, plus music_subtaxonomy.mar registered with no worker (its
 *    predictions are 503 no_worker, so the 5xx and rejection families have samples).
 * 3. Starts Prometheus (scrape interval 1 s, its own temporary TSDB, 127.0.0.1:<free port>).
 * 4. Sends a 400 to each served model, then predictions (texts of examples/taxonomy/data/test.csv),
 *    unknown-model 404s and no-worker 503s for MONITORING_TRAFFIC_SECONDS.
 * 5. Runs each query with $model = `.*` (Grafana's All) and again with `(taxonomy|music_subtaxonomy)`
 *    (Grafana's multi-value form), $__rate_interval = 15s, $reference_window = 1d; prints query → series.
 * Cleans up the processes and the temporary directory on every exit path.
 *
 * Environment: MONITORING_TRAFFIC_SECONDS (default 12), MONITORING_DASHBOARD (default monitoring/grafana/ortserve.json).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { loadConfig } from '../../src/config/load-config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { dashboardQueries, loadDashboard, substituteVariables } from './dashboard.js';
import { freePort } from '../lib/free-port.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const TRAFFIC_MS = Number(process.env.MONITORING_TRAFFIC_SECONDS ?? 12) * 1000;
const DEADLINE_MS = 110_000;

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (m: string): void => console.log(`[test:monitoring ${elapsed()}] ${m}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- cleanup, on every exit path
let tempDir: string | null = null;
let prometheus: ChildProcess | null = null;
let server: RunningServer | null = null;
let stopTraffic = false;

async function cleanup(): Promise<void> {
  stopTraffic = true;
  const prom = prometheus;
  prometheus = null;
  if (prom && prom.exitCode === null && prom.signalCode === null) {
    const exited = new Promise<void>((r) => prom.once('exit', () => r()));
    prom.kill('SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => prom.kill('SIGKILL'))]);
  }
  const s = server;
  server = null;
  if (s) await s.close(1000).catch((err: unknown) => say(`ortserve did not close cleanly: ${String(err)}`));
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  tempDir = null;
}

process.on('exit', () => {
  // Last resort (process.exit from elsewhere): nothing asynchronous runs here.
  if (prometheus && prometheus.exitCode === null) prometheus.kill('SIGKILL');
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});
let interrupted: NodeJS.Signals | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = signal;
    say(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---- helpers
function ensurePrometheus(): void {
  if (existsSync(PROMETHEUS)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${PROMETHEUS} is missing and this is not root: install Debian's prometheus ` +
        '(apt-get update && apt-get install -y --no-install-recommends prometheus), then run again.',
    );
  }
  say(`${PROMETHEUS} is missing: installing Debian's prometheus`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'prometheus']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${r.status ?? r.signal ?? r.error?.message})`);
  }
  // The package's postinst may start its own service (it does when an init system runs): ours uses its own
  // port and storage, so the two do not collide.
  if (!existsSync(PROMETHEUS)) throw new Error(`apt-get installed prometheus but ${PROMETHEUS} is still missing`);
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

interface PromResult {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

async function promQuery(base: string, query: string): Promise<PromResult> {
  const res = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }),
  });
  return (await res.json()) as PromResult;
}

/** Listing texts of the test split (one line each). */
function sampleTexts(): string[] {
  const rows = parseCsv(readFileSync(path.join(repo, 'examples/taxonomy/data/test.csv')), { columns: true }) as Array<Record<string, string>>;
  const texts = rows.map((r) => `${r.title ?? ''}. ${r.description ?? ''}`.replace(/\s+/g, ' ').trim()).filter((t) => t.length > 1);
  if (texts.length === 0) throw new Error('no texts in examples/taxonomy/data/test.csv');
  return texts;
}

interface TrafficStats {
  sent: number;
  byStatus: Map<number, number>;
  errors: number;
}

/** Predictions from `workers` concurrent loops until the deadline or `stopTraffic`. */
async function sendTraffic(inferenceUrl: string, ms: number, workers = 6): Promise<TrafficStats> {
  const texts = sampleTexts();
  const stats: TrafficStats = { sent: 0, byStatus: new Map(), errors: 0 };
  const end = Date.now() + ms;
  let n = 0;
  const one = async (): Promise<void> => {
    const i = n++;
    const text = texts[i % texts.length]!;
    let url = `${inferenceUrl}/predictions/${i % 2 === 0 ? 'taxonomy' : 'events'}`;
    let init: RequestInit = { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: text };
    switch (i % 20) {
      case 3: // JSON with top_k (events, then taxonomy)
      case 4:
        init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text, top_k: 3 }) };
        break;
      case 7: // several listings in one body (events, then taxonomy)
      case 8:
        init.body = [text, texts[(i + 1) % texts.length], texts[(i + 2) % texts.length]].join('\n');
        break;
      case 11: // 404: no such model (Requests4XX)
        url = `${inferenceUrl}/predictions/no_such_model`;
        break;
      case 13: // 503 no_worker (Requests5XX, ortserve_rejected_requests_total, 5xx ratio)
        url = `${inferenceUrl}/predictions/music_subtaxonomy`;
        break;
      default:
    }
    try {
      const res = await fetch(url, init);
      await res.arrayBuffer();
      stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
    } catch {
      stats.errors++;
    }
    stats.sent++;
  };
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!stopTraffic && Date.now() < end) await one();
    }),
  );
  return stats;
}

function oneLine(expr: string): string {
  return expr.replace(/\s+/g, ' ').trim();
}

// ---- main
async function main(): Promise<number> {
  const dashboardFile = path.resolve(process.env.MONITORING_DASHBOARD ?? path.join(repo, 'monitoring/grafana/ortserve.json'));
  const dashboard = loadDashboard(dashboardFile);
  const queries = dashboardQueries(dashboard);
  say(`${queries.length} queries in ${path.relative(repo, dashboardFile)}`);

  ensurePrometheus();
  const version = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' });
  say(`using ${PROMETHEUS}: ${(version.stdout || version.stderr).split('\n')[0]}`);
  if (existsSync(PROMTOOL)) {
    const r = spawnSync(PROMTOOL, ['check', 'config', path.join(repo, 'monitoring/prometheus.yml')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`promtool check config monitoring/prometheus.yml failed:\n${r.stdout}${r.stderr}`);
    say('promtool: monitoring/prometheus.yml is valid');
  }

  tempDir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-monitoring-'));
  mkdirSync(path.join(tempDir, 'tmp'));

  // ortserve, in this process, as test/support/server.ts starts it.
  const props: Record<string, string> = {
    inference_address: 'http://127.0.0.1:0',
    management_address: 'http://127.0.0.1:0',
    metrics_address: 'http://127.0.0.1:0',
    model_store: path.join(repo, 'model-store'),
    load_models: 'taxonomy.mar,events.mar',
    enable_model_api: 'true',
    disable_token_authorization: 'true',
  };
  const configFile = path.join(tempDir, 'config.properties');
  writeFileSync(configFile, Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const config = loadConfig({ tsConfig: configFile }, { LOG_LOCATION: path.join(tempDir, 'logs'), TEMP: path.join(tempDir, 'tmp') }, tempDir);
  server = await startServer(config, { cwd: tempDir, log: () => undefined });
  if (!server.metricsUrl) throw new Error('ortserve started without a metrics listener');
  const metricsTarget = new URL(server.metricsUrl).host;
  say(`ortserve: inference ${server.inferenceUrl}, metrics ${server.metricsUrl}`);
  const reg = await fetch(`${server.managementUrl}/models?url=music_subtaxonomy.mar&initial_workers=0&synchronous=true`, { method: 'POST' });
  if (reg.status !== 200) throw new Error(`registering music_subtaxonomy with no worker: ${reg.status} ${await reg.text()}`);

  // Prometheus
  const promPort = await freePort();
  const promBase = `http://127.0.0.1:${promPort}`;
  const promConfig = path.join(tempDir, 'prometheus.yml');
  writeFileSync(
    promConfig,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: ortserve',
      '    static_configs:',
      `      - targets: ["${metricsTarget}"]`,
      '',
    ].join('\n'),
  );
  const promLog = path.join(tempDir, 'prometheus.log');
  const logStream = createWriteStream(promLog);
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${promConfig}`,
      `--storage.tsdb.path=${path.join(tempDir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout!.pipe(logStream);
  prometheus.stderr!.pipe(logStream);
  const promExit = new Promise<never>((_, reject) =>
    prometheus!.once('exit', (code, signal) => reject(new Error(`prometheus exited (${code ?? signal}):\n${readFileSync(promLog, 'utf8').slice(-4000)}`))),
  );
  promExit.catch(() => undefined);
  await Promise.race([waitFor('Prometheus to be ready', 20_000, async () => (await fetch(`${promBase}/-/ready`)).ok), promExit]);
  say(`prometheus: ${promBase} (scrapes ${metricsTarget} every 1 s)`);

  // A 400 from each served model's handler, sent alone so that no good request shares its batch (the
  // 4xx panels need one); the handler's error is printed to stderr below.
  say('sending one bad request (JSON without "text") to taxonomy and to events: expect two handler errors below');
  for (const model of ['taxonomy', 'events']) {
    const r = await fetch(`${server.inferenceUrl}/predictions/${model}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"no_text": 1}' });
    await r.arrayBuffer();
    if (r.status < 400 || r.status >= 500) throw new Error(`expected a 4xx from ${model} for a JSON body without "text", got ${r.status}`);
  }

  // Traffic, then wait until Prometheus holds enough samples of it.
  say(`sending traffic for ${TRAFFIC_MS / 1000} s`);
  const stats = await Promise.race([sendTraffic(server.inferenceUrl, TRAFFIC_MS), promExit]);
  const statuses = [...stats.byStatus].sort(([a], [b]) => a - b).map(([s, c]) => `${s}×${c}`).join(', ');
  say(`sent ${stats.sent} requests (${statuses}${stats.errors ? `, ${stats.errors} network errors` : ''})`);
  if ((stats.byStatus.get(200) ?? 0) === 0) throw new Error('no prediction succeeded');
  await Promise.race([
    waitFor('two scrapes after the traffic', 15_000, async () => {
      const r = await promQuery(promBase, `count_over_time(up{job="ortserve"}[${Math.ceil(TRAFFIC_MS / 1000) + 5}s]) >= ${Math.ceil(TRAFFIC_MS / 1000)}`);
      return r.status === 'success' && (r.data?.result.length ?? 0) > 0;
    }),
    promExit,
  ]);
  await sleep(2000); // two more scrapes, so the last requests are in

  // The model variable's query, as Grafana runs label_values(metric, label).
  const labels = (await (await fetch(`${promBase}/api/v1/label/model/values?match[]=ortserve_request_duration_seconds_count`)).json()) as { data: string[] };
  const failures: string[] = [];
  for (const m of ['taxonomy', 'events']) {
    if (!labels.data.includes(m)) failures.push(`variable model: label_values(ortserve_request_duration_seconds_count, model) lacks "${m}" (got ${labels.data.join(', ')})`);
  }

  // Every query, for Grafana's All and for a multi-value selection.
  const passes: Array<{ name: string; vars: Record<string, string> }> = [
    { name: 'All', vars: { model: '.*', __rate_interval: '15s', reference_window: '1d' } },
    // Grafana's form for several values; music_subtaxonomy (no worker) brings the 5xx.
    { name: 'taxonomy+music_subtaxonomy', vars: { model: '(taxonomy|music_subtaxonomy)', __rate_interval: '15s', reference_window: '1d' } },
  ];
  const rows: Array<[string, string, string]> = [];
  for (const pass of passes) {
    for (const q of queries) {
      const query = substituteVariables(q.expr, pass.vars);
      const r = await promQuery(promBase, query);
      const where = `${q.panel} [${q.refId}] ($model=${pass.name})`;
      let result: string;
      if (r.status !== 'success') {
        result = `ERROR ${r.errorType}`;
        failures.push(`${where}: ${r.errorType}: ${r.error}\n    ${oneLine(query)}`);
      } else if ((r.data?.result.length ?? 0) === 0) {
        result = 'EMPTY';
        failures.push(`${where}: no series\n    ${oneLine(query)}`);
      } else {
        result = String(r.data!.result.length);
      }
      rows.push([result, where, oneLine(query)]);
    }
  }
  stopTraffic = true;

  console.log('\nseries  panel [target] ($model)\n        query');
  for (const [result, where, query] of rows) console.log(`${result.padStart(6)}  ${where}\n        ${query}`);
  const ok = rows.filter(([r]) => /^\d+$/.test(r)).length;
  console.log(`\n${ok} of ${rows.length} queries returned series (${queries.length} queries × ${passes.length} values of $model).`);
  if (failures.length > 0) {
    console.error(`\ntest:monitoring FAILED, ${failures.length} problem(s):`);
    for (const f of failures) console.error(`  - ${f}`);
    return 1;
  }
  say('every dashboard query parses and returns series');
  return 0;
}

const deadline = setTimeout(() => {
  console.error(`test:monitoring: still running after ${DEADLINE_MS / 1000} s, giving up`);
  void cleanup().finally(() => process.exit(1));
}, DEADLINE_MS);
deadline.unref();

let code = 1;
try {
  code = await main();
} catch (err) {
  if (!interrupted) console.error(`test:monitoring FAILED: ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  await cleanup();
}
if (interrupted) code = 130;
say(`done (exit ${code})`);
process.exit(code);
