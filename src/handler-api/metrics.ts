/**
 * The handler metrics API: `context.metrics`, TorchServe's `MetricsCacheYamlImpl` (spec §4.4) in
 * TypeScript naming: `add_metric` is `addMetric`, `add_metric_to_cache` is `addMetricToCache`, and so on.
 *
 * A handler's updates are not sent one by one: the worker collects them for the batch (`takeUpdates`) and
 * sends them with the batch's answer. The server then applies them to the metrics declared under
 * `model_metrics` in metrics.yaml (`metrics_config`), and drops the undeclared ones unless
 * `model_metrics_auto_detect=true`, as TorchServe's frontend does. Invalid updates (a negative counter
 * increment, dimension values that do not match the names) are dropped with an error line in the model
 * log, as TorchServe's `CachingMetric.add_or_update` does; invalid units throw, as in TorchServe.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** TorchServe's `MetricTypes` enum. */
export const MetricTypes = { COUNTER: 'counter', GAUGE: 'gauge', HISTOGRAM: 'histogram' } as const satisfies Record<string, MetricType>;

/** A name and a value (TorchServe's `ts.metrics.dimension.Dimension`). */
export class Dimension {
  constructor(
    readonly name: string,
    readonly value: string,
  ) {}

  toString(): string {
    return `${this.name}:${this.value}`;
  }
}

/** A metric as metrics.yaml declares it (`model_metrics: {counter: [{name, unit, dimensions}]}`). */
export interface MetricDeclaration {
  name: string;
  type: MetricType;
  unit: string;
  dimensions: string[];
}

/** One update a handler made, as the worker sends it to the server. */
export interface MetricUpdate {
  name: string;
  type: MetricType;
  unit: string;
  dimensionNames: string[];
  dimensionValues: string[];
  value: number;
  /** The request id(s) it belongs to: one id, or the batch's ids joined with `,`. */
  requestId: string;
}

export class MetricsCacheError extends Error {
  override readonly name = 'MetricsCacheError';
}

type Sink = (update: MetricUpdate) => void;

/** A metric of the cache (TorchServe's `CachingMetric`): updates go to the batch's list. */
export class CachingMetric {
  constructor(
    readonly metricName: string,
    readonly unit: string,
    public dimensionNames: string[],
    readonly metricType: MetricType,
    private readonly sink: Sink,
  ) {}

  /** Records `value` with one value per dimension name, in the same order. */
  addOrUpdate(value: number, dimensionValues: readonly string[] = [], requestId = ''): void {
    if (dimensionValues.length !== this.dimensionNames.length) {
      console.error(
        `[METRICS]Failed to update metric with name:${this.metricName} and dimensions:  with value: ${value}: ` +
          `Dimension values: [${dimensionValues.join(', ')}] should correspond to Dimension names: [${this.dimensionNames.join(', ')}]`,
      );
      return;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || (this.metricType === 'counter' && value < 0)) {
      console.error(`[METRICS]Failed to update metric with name:${this.metricName} with value: ${value}: ` +
        (this.metricType === 'counter' && value < 0 ? 'Counter metric update value cannot be negative' : 'the value must be a finite number'));
      return;
    }
    this.sink({
      name: this.metricName,
      type: this.metricType,
      unit: this.unit,
      dimensionNames: [...this.dimensionNames],
      dimensionValues: dimensionValues.map(String),
      value,
      requestId,
    });
  }

  /** Backwards compatible form: the dimensions given replace the metric's dimension names. */
  update(value: number, requestId = '', dimensions: readonly Dimension[] = []): void {
    this.dimensionNames = dimensions.map((d) => d.name);
    this.addOrUpdate(value, dimensions.map((d) => d.value), requestId);
  }
}

const TIME_UNITS = ['ms', 's'];
const SIZE_UNITS = ['MB', 'kB', 'GB', 'B'];

/** `context.metrics`: the metrics a handler declares and updates. */
export class MetricsCache {
  private readonly cache = new Map<string, CachingMetric>();
  private updates: MetricUpdate[] = [];
  private requestIds: Record<number, string> = {};
  private readonly sink: Sink = (u) => this.updates.push(u);

  /** `declared`: metrics.yaml's `model_metrics`, so that `getMetric` finds them as TorchServe's does. */
  constructor(
    readonly modelName: string,
    declared: readonly MetricDeclaration[] = [],
  ) {
    for (const d of declared) this.addMetricToCache(d.name, d.unit, d.dimensions, d.type);
  }

  /** Called by the worker before each batch; handlers do not call it. */
  setRequestIds(requestIds: Record<number, string>): void {
    this.requestIds = requestIds;
  }

  /** The updates of the batch so far, emptying the list (the worker calls it after `handle`). */
  takeUpdates(): MetricUpdate[] {
    const out = this.updates;
    this.updates = [];
    return out;
  }

  /** Declares a metric (replacing one of the same type and name) and returns it. */
  addMetricToCache(metricName: string, unit: string, dimensionNames: readonly string[] = [], metricType: MetricType = 'counter'): CachingMetric {
    if (typeof metricName !== 'string' || typeof unit !== 'string') throw new MetricsCacheError('`metric_name` and `unit` must be strings');
    if (!isMetricType(metricType)) throw new MetricsCacheError('`metric_type` must be one of MetricTypes');
    const metric = new CachingMetric(metricName, unit, [...dimensionNames], metricType, this.sink);
    this.cache.set(key(metricType, metricName), metric);
    return metric;
  }

  /** A declared metric; throws MetricsCacheError when there is none of that type and name. */
  getMetric(metricName: string, metricType: MetricType = 'counter'): CachingMetric {
    const metric = this.cache.get(key(metricType, metricName));
    if (!metric) throw new MetricsCacheError(`Metric of type '${metricType}' and name '${metricName}' doesn't exist`);
    return metric;
  }

  /**
   * A metric of any unit (default type counter). `idx`: the request's index in the batch, or null for the
   * whole batch; `ModelName=<model>` and `Level=Model` are appended unless given.
   */
  addMetric(name: string, value: number, unit: string, idx: number | null = null, dimensions: readonly Dimension[] = [], metricType: MetricType = 'counter'): void {
    this.record(name, value, unit, idx, dimensions, metricType);
  }

  /** `value` counts (unit `count`). */
  addCounter(name: string, value: number, idx: number | null = null, dimensions: readonly Dimension[] = []): void {
    this.record(name, value, 'count', idx, dimensions, 'counter');
  }

  /** A duration, `ms` (default) or `s`; default type gauge. */
  addTime(name: string, value: number, idx: number | null = null, unit = 'ms', dimensions: readonly Dimension[] = [], metricType: MetricType = 'gauge'): void {
    if (!TIME_UNITS.includes(unit)) throw new MetricsCacheError("the unit for a timed metric should be one of ['ms', 's']");
    this.record(name, value, unit, idx, dimensions, metricType);
  }

  /** A size, `MB` (default), `kB`, `GB` or `B`; default type gauge. */
  addSize(name: string, value: number, idx: number | null = null, unit = 'MB', dimensions: readonly Dimension[] = [], metricType: MetricType = 'gauge'): void {
    if (!SIZE_UNITS.includes(unit)) throw new MetricsCacheError("The unit for size based metric is one of ['MB','kB', 'GB', 'B']");
    this.record(name, value, unit, idx, dimensions, metricType);
  }

  /** A percentage (unit `percent`); default type gauge. */
  addPercent(name: string, value: number, idx: number | null = null, dimensions: readonly Dimension[] = [], metricType: MetricType = 'gauge'): void {
    this.record(name, value, 'percent', idx, dimensions, metricType);
  }

  private record(name: string, value: number, unit: string, idx: number | null, dimensions: readonly Dimension[], type: MetricType): void {
    const requestId = idx !== null && this.requestIds[idx] !== undefined ? this.requestIds[idx]! : Object.values(this.requestIds).join(',');
    const dims = [...dimensions];
    if (!dims.some((d) => d.name === 'ModelName')) dims.push(new Dimension('ModelName', this.modelName));
    if (!dims.some((d) => d.name === 'Level')) dims.push(new Dimension('Level', 'Model'));
    let metric = this.cache.get(key(type, name));
    // As TorchServe's `_get_or_add_metric`: an unknown metric is added with the dimensions of its first update.
    metric ??= this.addMetricToCache(name, unit, dims.map((d) => d.name), type);
    // Values follow the metric's own dimension order when every name is given (TorchServe goes by position).
    const byName = new Map(dims.map((d) => [d.name, d.value]));
    const ordered = dims.length === metric.dimensionNames.length && metric.dimensionNames.every((n) => byName.has(n));
    metric.addOrUpdate(value, ordered ? metric.dimensionNames.map((n) => byName.get(n)!) : dims.map((d) => d.value), requestId);
  }
}

function key(type: MetricType, name: string): string {
  return `${type}:${name}`;
}

export function isMetricType(value: unknown): value is MetricType {
  return value === 'counter' || value === 'gauge' || value === 'histogram';
}
