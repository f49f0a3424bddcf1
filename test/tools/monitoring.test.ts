/**
 * The Grafana dashboard and the monitoring stack, checked statically (no Prometheus here: `npm run
 * test:monitoring` runs every query against a real one).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  HOST_LEVEL_METRICS,
  dashboardQueries,
  dataPanels,
  familyOf,
  metricNames,
  metricSelectors,
  modelLabel,
  substituteVariables,
  type Dashboard,
} from '../../tools/monitoring/dashboard.js';

// dist/test/tools → the repository
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const monitoring = path.join(repo, 'monitoring');
const dashboardFile = path.join(monitoring, 'grafana', 'ortserve.json');
/** Filled in by Grafana's import (__inputs), resolved by the DS_PROMETHEUS variable where provisioned (issue 19). */
const DATASOURCE = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
const queries = dashboardQueries(dashboard);

/** Backticked names in docs/metrics.md; `foo_*` entries become prefixes. */
function documentedNames(): { names: Set<string>; prefixes: string[] } {
  const text = readFileSync(path.join(repo, 'docs', 'metrics.md'), 'utf8');
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const m of text.matchAll(/`([A-Za-z_:][A-Za-z0-9_:]*)(\*)?`/g)) {
    if (m[2]) prefixes.push(m[1]!);
    else names.add(m[1]!);
  }
  return { names, prefixes };
}

function isDocumented(metric: string, doc: { names: Set<string>; prefixes: string[] }): boolean {
  if (doc.names.has(metric) || doc.names.has(familyOf(metric))) return true;
  if (doc.prefixes.some((p) => metric.startsWith(p))) return true;
  // docs/metrics.md: "`nodejs_eventloop_lag_seconds` (and its percentiles)", prom-client's p50/p90/p99 gauges.
  if (/^nodejs_eventloop_lag_(min|max|mean|stddev|p50|p90|p99)_seconds$/.test(metric)) return doc.names.has('nodejs_eventloop_lag_seconds');
  return false;
}

describe('monitoring/grafana/ortserve.json', () => {
  it('is a Grafana 10 dashboard with uid ortserve that imports into any Grafana: a DS_PROMETHEUS datasource input', () => {
    assert.equal(dashboard.uid, 'ortserve');
    assert.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41, `schemaVersion ${dashboard.schemaVersion}`);
    assert.deepEqual(
      (dashboard.__inputs ?? []).map((i) => [i.name, i.type, i.pluginId]),
      [['DS_PROMETHEUS', 'datasource', 'prometheus']],
    );
    // No datasource uid of one particular Grafana is left (the import would keep it as it is).
    const text = readFileSync(dashboardFile, 'utf8');
    assert.doesNotMatch(text, /"uid":\s*"prometheus"/);
    assert.deepEqual([...new Set(text.match(/\$\{DS_[A-Z_]+\}/g))], ['${DS_PROMETHEUS}']);
  });

  it('resolves ${DS_PROMETHEUS} when provisioned too: a datasource variable of that name, Prometheus type', () => {
    const v = dashboard.templating.list.find((x) => x.name === 'DS_PROMETHEUS');
    assert.ok(v, 'variable DS_PROMETHEUS');
    assert.equal(v.type, 'datasource');
    assert.equal(v.query, 'prometheus');
    assert.deepEqual(v.current, {}, 'no datasource of one Grafana pre-selected: the default Prometheus');
  });

  it('has the model and reference_window variables', () => {
    const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    const model = byName.get('model');
    assert.ok(model, 'variable model');
    assert.equal(model.type, 'query');
    assert.deepEqual(model.datasource, DATASOURCE);
    const q = typeof model.query === 'string' ? model.query : (model.query as { query: string }).query;
    assert.equal(q, 'label_values(ortserve_request_duration_seconds_count, model)');
    assert.equal(model.multi, true);
    assert.equal(model.includeAll, true);
    assert.equal(model.allValue, '.*');
    const ref = byName.get('reference_window');
    assert.ok(ref, 'variable reference_window');
    assert.equal(ref.type, 'custom');
    assert.deepEqual(String(ref.query).split(',').map((s) => s.trim()), ['1h', '6h', '1d', '7d']);
    assert.equal((ref.current as { value: string }).value, '1d');
  });

  it('has the rows of issue 5, in order', () => {
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(rows, ['Traffic', 'Errors and rejections', 'Latency', 'Latency breakdown', 'Batching', 'Saturation', 'Resources', 'Drift']);
  });

  it('gives every panel the provisioned datasource and at least one target with an expression', () => {
    const panels = dataPanels(dashboard);
    assert.ok(panels.length >= 20, `${panels.length} panels`);
    const ids = new Set<number>();
    for (const p of panels) {
      assert.deepEqual(p.datasource, DATASOURCE, `panel "${p.title}"`);
      assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has no target`);
      for (const t of p.targets ?? []) {
        assert.deepEqual(t.datasource, DATASOURCE, `panel "${p.title}" target ${t.refId}`);
        assert.ok(typeof t.expr === 'string' && t.expr.trim() !== '', `panel "${p.title}" target ${t.refId} has no expr`);
      }
      assert.ok(p.id !== undefined && !ids.has(p.id), `panel "${p.title}": id ${p.id} missing or repeated`);
      ids.add(p.id);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `panel "${p.title}": repeated refId`);
    }
  });

  it('filters every model-level selector by $model (host-level families excepted)', () => {
    const bad: string[] = [];
    for (const q of queries) {
      for (const s of metricSelectors(q.expr)) {
        if (HOST_LEVEL_METRICS.includes(s.metric)) continue;
        const label = modelLabel(s.metric);
        if (!new RegExp(`(^|[\\s,])${label}\\s*=~\\s*"\\$model"`).test(s.matchers)) bad.push(`${q.panel} [${q.refId}]: ${s.metric}{${s.matchers}}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('uses only metric names that docs/metrics.md lists', () => {
    const doc = documentedNames();
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    used.add('ortserve_request_duration_seconds_count'); // the model variable's query
    const missing = [...new Set([...used].filter((m) => !isDocumented(m, doc)).map(familyOf))].sort();
    assert.deepEqual(missing, [], `not in docs/metrics.md: ${missing.join(', ')}`);
  });

  it('is described in docs/monitoring.md: every panel title and query', () => {
    const collapse = (t: string): string => t.replace(/\s+/g, ' ');
    const doc = collapse(readFileSync(path.join(repo, 'docs', 'monitoring.md'), 'utf8'));
    const missing = queries.filter((q) => !doc.includes(`**${q.panel}**`) || !doc.includes(collapse(q.expr))).map((q) => `${q.panel} [${q.refId}]`);
    assert.deepEqual(missing, []);
  });

  it('only uses variables the check knows', () => {
    const vars = { model: '.*', reference_window: '1d', __rate_interval: '15s' };
    for (const q of queries) assert.doesNotThrow(() => substituteVariables(q.expr, vars), `${q.panel} [${q.refId}]`);
  });
});

describe('PromQL scanning', () => {
  it('finds selectors, skipping functions, label lists, strings and ranges', () => {
    const expr =
      'sum by (model, le) (rate(a_bucket{model=~"$model", le="0.05"}[5m])) / on (model) group_left sum(rate(b_total[$__rate_interval])) or 0 * max(Requests2XX) - 1e-3';
    assert.deepEqual(metricSelectors(expr), [
      { metric: 'a_bucket', matchers: 'model=~"$model", le="0.05"' },
      { metric: 'b_total', matchers: '' },
      { metric: 'Requests2XX', matchers: '' },
    ]);
  });

  it('substitutes Grafana variables and refuses unknown ones', () => {
    assert.equal(substituteVariables('x{m=~"$model"}[$__rate_interval] ${model} [[model]]', { model: 'a', __rate_interval: '15s' }), 'x{m=~"a"}[15s] a a');
    assert.throws(() => substituteVariables('rate(x[$nope])', {}), /unknown Grafana variable \$nope/);
  });
});

describe('monitoring stack files', () => {
  const yamlOf = (...p: string[]): Record<string, unknown> => parseYaml(readFileSync(path.join(monitoring, ...p), 'utf8')) as Record<string, unknown>;

  it('scrapes ortserve every 5 s', () => {
    const prom = yamlOf('prometheus.yml') as { scrape_configs: Array<{ scrape_interval?: string; static_configs: Array<{ targets: string[] }> }>; global?: { scrape_interval?: string } };
    const job = prom.scrape_configs[0]!;
    assert.equal(job.scrape_interval ?? prom.global?.scrape_interval, '5s');
    assert.ok(job.static_configs.some((s) => s.targets.some((t) => t.endsWith(':8082'))));
  });

  it('pins the images and provisions the datasource (uid prometheus) and the dashboard', () => {
    const compose = yamlOf('docker-compose.yml') as { services: Record<string, { image: string; volumes?: string[] }> };
    const images = Object.values(compose.services).map((s) => s.image);
    assert.ok(images.some((i) => /^prom\/prometheus:v2\.\d+\.\d+$/.test(i)), images.join(' '));
    assert.ok(images.some((i) => /^grafana\/grafana:1\d\.\d+\.\d+$/.test(i)), images.join(' '));
    const dsDir = path.join(monitoring, 'grafana', 'provisioning', 'datasources');
    const datasources = readdirSync(dsDir).flatMap((f) => (yamlOf('grafana', 'provisioning', 'datasources', f) as { datasources: Array<{ uid: string; type: string }> }).datasources);
    assert.ok(datasources.some((d) => d.uid === 'prometheus' && d.type === 'prometheus'));
    const dbDir = path.join(monitoring, 'grafana', 'provisioning', 'dashboards');
    const providers = readdirSync(dbDir).flatMap((f) => (yamlOf('grafana', 'provisioning', 'dashboards', f) as { providers: Array<{ options: { path: string } }> }).providers);
    const grafana = compose.services.grafana!;
    for (const p of providers) assert.ok((grafana.volumes ?? []).some((v) => v.split(':')[1]?.startsWith(p.options.path)), `nothing mounted at ${p.options.path}`);
    assert.ok((grafana.volumes ?? []).some((v) => v.startsWith('./grafana/ortserve.json:')), 'dashboard not mounted');
  });
});
