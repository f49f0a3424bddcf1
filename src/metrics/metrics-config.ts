/**
 * metrics.yaml (`metrics_config`, spec §4.3): which TorchServe frontend metrics exist (`ts_metrics`) and
 * which handler metrics the server keeps (`model_metrics`). Without `metrics_config`, TorchServe's own
 * default file applies (`DEFAULT_METRICS_YAML`, the same content as `ts/configs/metrics.yaml`).
 * A file that cannot be read or parsed stops the server at startup, as it stops TorchServe's.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../config/errors.js';
import { isMetricType, type MetricDeclaration, type MetricType } from '../handler-api/metrics.js';

export interface MetricsConfig {
  /** `ts_metrics`: the frontend families the server exposes (by name), in file order. */
  tsMetrics: MetricDeclaration[];
  /** `model_metrics`: the handler metrics the server keeps; others are dropped unless auto-detected. */
  modelMetrics: MetricDeclaration[];
  /** `model_metrics_auto_detect`: keep undeclared handler metrics too, with the dimensions of their first update. */
  autoDetect: boolean;
  /** Where it came from: the file path, or `default`. */
  source: string;
}

/** TorchServe's default `ts/configs/metrics.yaml`. */
export const DEFAULT_METRICS_YAML = `dimensions:
  - &model_name "ModelName"
  - &worker_name "WorkerName"
  - &level "Level"
  - &device_id "DeviceId"
  - &hostname "Hostname"

ts_metrics:
  counter:
    - name: Requests2XX
      unit: Count
      dimensions: [*level, *hostname]
    - name: Requests4XX
      unit: Count
      dimensions: [*level, *hostname]
    - name: Requests5XX
      unit: Count
      dimensions: [*level, *hostname]
    - name: ts_inference_requests_total
      unit: Count
      dimensions: ["model_name", "model_version", "hostname"]
    - name: ts_inference_latency_microseconds
      unit: Microseconds
      dimensions: ["model_name", "model_version", "hostname"]
    - name: ts_queue_latency_microseconds
      unit: Microseconds
      dimensions: ["model_name", "model_version", "hostname"]
  gauge:
    - name: QueueTime
      unit: Milliseconds
      dimensions: [*level, *hostname]
    - name: WorkerThreadTime
      unit: Milliseconds
      dimensions: [*level, *hostname]
    - name: WorkerLoadTime
      unit: Milliseconds
      dimensions: [*worker_name, *level, *hostname]
    - name: CPUUtilization
      unit: Percent
      dimensions: [*level, *hostname]
    - name: MemoryUsed
      unit: Megabytes
      dimensions: [*level, *hostname]
    - name: MemoryAvailable
      unit: Megabytes
      dimensions: [*level, *hostname]
    - name: MemoryUtilization
      unit: Percent
      dimensions: [*level, *hostname]
    - name: DiskUsage
      unit: Gigabytes
      dimensions: [*level, *hostname]
    - name: DiskUtilization
      unit: Percent
      dimensions: [*level, *hostname]
    - name: DiskAvailable
      unit: Gigabytes
      dimensions: [*level, *hostname]

model_metrics:
  # Dimension "Hostname" is automatically added for model metrics in the backend
  gauge:
    - name: HandlerTime
      unit: ms
      dimensions: [*model_name, *level]
    - name: PredictionTime
      unit: ms
      dimensions: [*model_name, *level]
`;

function section(doc: Record<string, unknown>, key: string, source: string): MetricDeclaration[] {
  const value = doc[key];
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${source}: "${key}" must map metric types to lists`);
  const out: MetricDeclaration[] = [];
  for (const [type, list] of Object.entries(value as Record<string, unknown>)) {
    if (!isMetricType(type)) throw new ConfigError(`${source}: invalid metric type "${type}" in "${key}" (counter, gauge or histogram)`);
    if (list === null) continue;
    if (!Array.isArray(list)) throw new ConfigError(`${source}: "${key}.${type}" must be a list`);
    for (const entry of list as unknown[]) out.push(declaration(entry, `${key}.${type}`, type, source));
  }
  return out;
}

function declaration(entry: unknown, where: string, type: MetricType, source: string): MetricDeclaration {
  const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
  const { name, unit, dimensions } = e;
  if (typeof name !== 'string' || name === '') throw new ConfigError(`${source}: an entry of "${where}" has no name`);
  if (typeof unit !== 'string' && typeof unit !== 'number') throw new ConfigError(`${source}: metric "${name}" has no unit`);
  const dims = dimensions ?? [];
  if (!Array.isArray(dims) || !dims.every((d) => typeof d === 'string')) {
    throw new ConfigError(`${source}: the dimensions of metric "${name}" must be a list of names`);
  }
  return { name, type, unit: String(unit), dimensions: dims as string[] };
}

/** Parses metrics.yaml text (YAML anchors and aliases included). */
export function parseMetricsYaml(text: string, source: string, autoDetect: boolean): MetricsConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`${source}: not a metrics configuration`);
  const d = doc as Record<string, unknown>;
  return { tsMetrics: section(d, 'ts_metrics', source), modelMetrics: section(d, 'model_metrics', source), autoDetect, source };
}

/** `metrics_config` (a path, or null for TorchServe's default file) and `model_metrics_auto_detect`. */
export function loadMetricsConfig(file: string | null, autoDetect: boolean): MetricsConfig {
  if (file === null) return parseMetricsYaml(DEFAULT_METRICS_YAML, 'default', autoDetect);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`metrics_config: cannot read ${file}: ${(err as Error).message}`);
  }
  return parseMetricsYaml(text, file, autoDetect);
}
