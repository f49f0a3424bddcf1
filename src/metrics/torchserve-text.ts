/**
 * TorchServe's metric families in its own exposition style (spec §4.1: Prometheus simpleclient 0.9.0):
 * `# HELP <name> Torchserve prometheus <type> metric with unit: <unit>`, label lists with a trailing
 * comma, values as Java `Double.toString`, counters without `_total`/`_created`, and HELP/TYPE printed
 * for families without samples.
 */

import type { MetricDeclaration } from '../handler-api/metrics.js';

export type TsType = 'counter' | 'gauge' | 'histogram';

/** Prometheus simpleclient's default histogram buckets, which TorchServe's custom histograms use. */
export const SIMPLECLIENT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;

/** Told of every update: `value` is the increment of a counter, the new value of a gauge, the observation of a histogram. */
export type UpdateListener = (family: TsFamily, labelValues: readonly string[], value: number, requestId?: string) => void;

/** Java's `Double.toString`: `8.0`, `290371.129`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`. */
export function javaDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exponent] = x.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** One family: a name, a type, a unit and its label names in TorchServe's order. */
export class TsFamily {
  private readonly samples = new Map<string, { values: string[]; value: number; buckets: number[] }>();
  /** Set in `log` mode (and for the non-Prometheus families of `legacy`): metric log lines. */
  listener: UpdateListener | null = null;

  constructor(
    readonly name: string,
    readonly type: TsType,
    readonly unit: string,
    readonly labelNames: readonly string[],
  ) {}

  inc(values: readonly string[], by = 1, requestId?: string): void {
    const s = this.sample(values);
    s.value += by;
    this.listener?.(this, values, by, requestId);
  }

  set(values: readonly string[], value: number, requestId?: string): void {
    this.sample(values).value = value;
    this.listener?.(this, values, value, requestId);
  }

  /** A histogram observation: `_sum` grows by it, `_count` and the buckets at or above it by one. */
  observe(values: readonly string[], value: number, requestId?: string): void {
    const s = this.sample(values);
    s.value += value;
    SIMPLECLIENT_BUCKETS.forEach((le, i) => {
      if (value <= le) s.buckets[i]!++;
    });
    s.buckets[SIMPLECLIENT_BUCKETS.length]!++;
    this.listener?.(this, values, value, requestId);
  }

  /** Applies one update by the family's type: counters add, gauges set, histograms observe. */
  update(values: readonly string[], value: number, requestId?: string): void {
    if (this.type === 'counter') this.inc(values, value, requestId);
    else if (this.type === 'gauge') this.set(values, value, requestId);
    else this.observe(values, value, requestId);
  }

  /** The value of one sample (tests, debugging); undefined when it was never touched. */
  get(values: readonly string[]): number | undefined {
    return this.samples.get(values.join('\u0000'))?.value;
  }

  render(): string {
    let out = `# HELP ${this.name} Torchserve prometheus ${this.type} metric with unit: ${this.unit}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { values, value, buckets } of this.samples.values()) {
      const labels = this.labelNames.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}",`).join('');
      if (this.type !== 'histogram') {
        out += `${this.name}{${labels}} ${javaDouble(value)}\n`;
        continue;
      }
      // simpleclient's order: the buckets (cumulative), then _count, then _sum.
      buckets.forEach((n, i) => {
        const le = i < SIMPLECLIENT_BUCKETS.length ? javaDouble(SIMPLECLIENT_BUCKETS[i]!) : '+Inf';
        out += `${this.name}_bucket{${labels}le="${le}",} ${javaDouble(n)}\n`;
      });
      out += `${this.name}_count{${labels}} ${javaDouble(buckets[SIMPLECLIENT_BUCKETS.length]!)}\n`;
      out += `${this.name}_sum{${labels}} ${javaDouble(value)}\n`;
    }
    return out;
  }

  private sample(values: readonly string[]): { values: string[]; value: number; buckets: number[] } {
    const key = values.join('\u0000');
    let s = this.samples.get(key);
    if (!s) {
      s = { values: [...values], value: 0, buckets: this.type === 'histogram' ? new Array<number>(SIMPLECLIENT_BUCKETS.length + 1).fill(0) : [] };
      this.samples.set(key, s);
    }
    return s;
  }
}

const HOST = ['Level', 'Hostname'];
const PER_MODEL = ['model_name', 'model_version', 'hostname'];

/** The frontend families of TorchServe's default metrics.yaml (`ts_metrics`, spec §4.2), without GPU ones. */
export class TorchServeFamilies {
  readonly requests2xx = new TsFamily('Requests2XX', 'counter', 'Count', HOST);
  readonly requests4xx = new TsFamily('Requests4XX', 'counter', 'Count', HOST);
  readonly requests5xx = new TsFamily('Requests5XX', 'counter', 'Count', HOST);
  readonly inferenceRequests = new TsFamily('ts_inference_requests_total', 'counter', 'Count', PER_MODEL);
  readonly inferenceLatency = new TsFamily('ts_inference_latency_microseconds', 'counter', 'Microseconds', PER_MODEL);
  readonly queueLatency = new TsFamily('ts_queue_latency_microseconds', 'counter', 'Microseconds', PER_MODEL);
  readonly queueTime = new TsFamily('QueueTime', 'gauge', 'Milliseconds', HOST);
  readonly workerThreadTime = new TsFamily('WorkerThreadTime', 'gauge', 'Milliseconds', HOST);
  readonly workerLoadTime = new TsFamily('WorkerLoadTime', 'gauge', 'Milliseconds', ['WorkerName', ...HOST]);
  readonly cpuUtilization = new TsFamily('CPUUtilization', 'gauge', 'Percent', HOST);
  readonly memoryUsed = new TsFamily('MemoryUsed', 'gauge', 'Megabytes', HOST);
  readonly memoryAvailable = new TsFamily('MemoryAvailable', 'gauge', 'Megabytes', HOST);
  readonly memoryUtilization = new TsFamily('MemoryUtilization', 'gauge', 'Percent', HOST);
  readonly diskUsage = new TsFamily('DiskUsage', 'gauge', 'Gigabytes', HOST);
  readonly diskUtilization = new TsFamily('DiskUtilization', 'gauge', 'Percent', HOST);
  readonly diskAvailable = new TsFamily('DiskAvailable', 'gauge', 'Gigabytes', HOST);

  /** The families metrics.yaml's `ts_metrics` declares, in its order. */
  private readonly declared: TsFamily[];

  /**
   * `declared`: metrics.yaml's `ts_metrics`. A family ortserve keeps is exposed only when declared (as in
   * TorchServe, where the frontend builds its metrics from the file); a declared name ortserve never
   * updates (GPU metrics, OpenSessions) is exposed without samples, as TorchServe would.
   */
  constructor(declared: readonly MetricDeclaration[]) {
    const known = new Map(this.known().map((f) => [f.name, f]));
    this.declared = declared.map((d) => known.get(d.name) ?? new TsFamily(d.name, d.type, d.unit, d.dimensions));
  }

  /** The declared families `metrics_mode=legacy` exposes. */
  legacy(): TsFamily[] {
    const legacy = new Set<TsFamily>([this.inferenceRequests, this.inferenceLatency, this.queueLatency]);
    return this.declared.filter((f) => legacy.has(f));
  }

  /** Every declared family. */
  all(): TsFamily[] {
    return [...this.declared];
  }

  private known(): TsFamily[] {
    return Object.values(this).filter((v): v is TsFamily => v instanceof TsFamily);
  }
}
