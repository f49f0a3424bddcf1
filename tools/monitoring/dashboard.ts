/**
 * Reads the Grafana dashboard (monitoring/grafana/ortserve.json): its panels (nested in rows or not), the
 * PromQL of every target, Grafana's template variables substituted, and the metric selectors in a query.
 * Shared by the static test (test/tools/monitoring.test.ts) and `npm run test:monitoring`, which runs every
 * query against a real Prometheus scraping a real ortserve.
 */
import { readFileSync } from 'node:fs';

export interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
  [key: string]: unknown;
}

export interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  [key: string]: unknown;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  /** Grafana's import asks for these (DS_PROMETHEUS) and substitutes `${NAME}` throughout. */
  __inputs?: Array<{ name: string; type: string; pluginId: string; [key: string]: unknown }>;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown; [key: string]: unknown }> };
  [key: string]: unknown;
}

export interface DashboardQuery {
  panel: string;
  refId: string;
  expr: string;
}

export function loadDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Every panel that is not a row, in order, including the panels of collapsed rows. */
export function dataPanels(d: Pick<Dashboard, 'panels'>): Panel[] {
  const out: Panel[] = [];
  const walk = (panels: readonly Panel[] | undefined): void => {
    for (const p of panels ?? []) {
      if (p.type !== 'row') out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** Every target's PromQL, with the title of its panel. */
export function dashboardQueries(d: Pick<Dashboard, 'panels'>): DashboardQuery[] {
  return dataPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title ?? `panel ${p.id}`, refId: t.refId ?? '?', expr: t.expr ?? '' })),
  );
}

/**
 * Replaces Grafana's variable forms `$name`, `${name}`, `${name:format}` and `[[name]]` with `vars[name]`.
 * Throws on a variable that `vars` does not give, so that a new variable cannot slip past the check.
 */
export function substituteVariables(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g, (_m, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = vars[name];
    if (value === undefined) throw new Error(`unknown Grafana variable $${name} in: ${expr}`);
    return value;
  });
}

/** PromQL functions, aggregations and keywords: identifiers that are never metric names. */
const NOT_METRICS = new Set([
  // aggregation operators
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'limitk', 'limit_ratio',
  // keywords
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2',
  'inf', 'nan',
]);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export interface Selector {
  metric: string;
  /** The text between the braces, or '' without braces. */
  matchers: string;
}

/**
 * The metric selectors of a PromQL expression, in order: an identifier that is not followed by `(` and is
 * neither a keyword nor an aggregation, with its `{…}` matchers. Strings, ranges (`[…]`) and label lists
 * (`by (…)`, `on (…)`) are skipped. Enough for the dashboard's queries; not a full PromQL parser.
 */
export function metricSelectors(expr: string): Selector[] {
  const out: Selector[] = [];
  let i = 0;
  const n = expr.length;
  const skipSpaces = (): void => {
    while (i < n && /\s/.test(expr[i]!)) i++;
  };
  const skipString = (): void => {
    const quote = expr[i]!;
    i++;
    while (i < n && expr[i] !== quote) i += expr[i] === '\\' ? 2 : 1;
    i++;
  };
  const readUntil = (close: string): string => {
    const start = i + 1;
    i++;
    while (i < n && expr[i] !== close) {
      if (expr[i] === '"' || expr[i] === "'" || expr[i] === '`') skipString();
      else i++;
    }
    i++;
    return expr.slice(start, i - 1);
  };
  while (i < n) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') {
      skipString();
    } else if (c === '[') {
      readUntil(']');
    } else if (c === '{') {
      readUntil('}'); // a selector without a metric name
    } else if (/[0-9.]/.test(c)) {
      const m = /^(?:0x[0-9a-f]+|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)/i.exec(expr.slice(i));
      i += m ? Math.max(1, m[0].length) : 1;
    } else if (/[A-Za-z_:]/.test(c)) {
      const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i))![0];
      i += ident.length;
      skipSpaces();
      const lower = ident.toLowerCase();
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (expr[i] === '(') readUntil(')');
      } else if (expr[i] === '(' || NOT_METRICS.has(lower)) {
        // a function call or an aggregation: its arguments are scanned as they come
      } else if (expr[i] === '{') {
        out.push({ metric: ident, matchers: readUntil('}') });
      } else {
        out.push({ metric: ident, matchers: '' });
      }
    } else {
      i++;
    }
  }
  return out;
}

export function metricNames(expr: string): string[] {
  return [...new Set(metricSelectors(expr).map((s) => s.metric))];
}

/**
 * Families with no model label: TorchServe's host-level counters and system metrics, and the Node.js
 * process metrics. Every other family must be filtered by the `model` variable.
 */
export const HOST_LEVEL_METRICS: readonly string[] = [
  'Requests2XX',
  'Requests4XX',
  'Requests5XX',
  'CPUUtilization',
  'MemoryUsed',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
];

/** The label that names the model: TorchServe's families keep their own label names. */
export function modelLabel(metric: string): string {
  if (metric.startsWith('ts_')) return 'model_name';
  if (metric === 'HandlerTime' || metric === 'PredictionTime') return 'ModelName';
  return 'model';
}

/** The family a sample name belongs to: `x_bucket`, `x_sum`, `x_count` → `x`. */
export function familyOf(metric: string): string {
  return metric.replace(/_(bucket|sum|count)$/, '');
}
