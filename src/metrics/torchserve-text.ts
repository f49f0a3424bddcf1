/**
 * TorchServe's metric families in its own exposition style (spec §4.1: Prometheus simpleclient 0.9.0):
 * `# HELP <name> Torchserve prometheus <type> metric with unit: <unit>`, label lists with a trailing
 * comma, values as Java `Double.toString`, counters without `_total`/`_created`, and HELP/TYPE printed
 * for families without samples.
 */

export type TsType = 'counter' | 'gauge';

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
  private readonly samples = new Map<string, { values: string[]; value: number }>();

  constructor(
    readonly name: string,
    readonly type: TsType,
    readonly unit: string,
    readonly labelNames: readonly string[],
  ) {}

  inc(values: readonly string[], by = 1): void {
    const s = this.sample(values);
    s.value += by;
  }

  set(values: readonly string[], value: number): void {
    this.sample(values).value = value;
  }

  /** The value of one sample (tests, debugging); undefined when it was never touched. */
  get(values: readonly string[]): number | undefined {
    return this.samples.get(values.join('\u0000'))?.value;
  }

  render(): string {
    let out = `# HELP ${this.name} Torchserve prometheus ${this.type} metric with unit: ${this.unit}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { values, value } of this.samples.values()) {
      const labels = this.labelNames.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}",`).join('');
      out += `${this.name}{${labels}} ${javaDouble(value)}\n`;
    }
    return out;
  }

  private sample(values: readonly string[]): { values: string[]; value: number } {
    const key = values.join('\u0000');
    let s = this.samples.get(key);
    if (!s) {
      s = { values: [...values], value: 0 };
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

  /** The families `metrics_mode=legacy` exposes. */
  legacy(): TsFamily[] {
    return [this.inferenceRequests, this.inferenceLatency, this.queueLatency];
  }

  all(): TsFamily[] {
    return Object.values(this).filter((v): v is TsFamily => v instanceof TsFamily);
  }
}
