/**
 * `metrics_mode=log`: TorchServe's metric log files under LOG_LOCATION, one line per update.
 * - `ts_metrics.log`: frontend metrics, `Requests2XX.Count:1.0|#Level:Host|#hostname:h,timestamp:1700000000`
 * - `model_metrics.log`: handler metrics, `HandlerTime.ms:1.5|#ModelName:m,Level:Model|#hostname:h,requestID:id,timestamp:…`
 * (its `LogMetric.buildMetricString`), behind log4j's `%d{ISO8601} - %m%n`, or as JSON lines with
 * `log_format=json`. A counter line carries the increment, a gauge its new value, a histogram the
 * observation. `legacy` mode logs every family except the three it exposes on /metrics.
 */
import path from 'node:path';
import { escapeControl, log4jTimestamp, type LogFormat } from '../logging/format.js';
import { LogFile } from '../logging/log-file.js';
import { javaDouble, type TsFamily, type UpdateListener } from './torchserve-text.js';

/** The message of one metric line, without the timestamp prefix (the last label value is the hostname). */
export function metricLine(family: TsFamily, labelValues: readonly string[], value: number, requestId: string | undefined, now: Date): string {
  const n = Math.min(family.labelNames.length, labelValues.length) - 1;
  const dims = family.labelNames.slice(0, n).map((name, i) => `${name}:${labelValues[i]}`).join(',');
  const request = requestId === undefined ? '' : `,requestID:${requestId}`;
  return `${family.name}.${family.unit}:${javaDouble(value)}|#${dims}|#hostname:${labelValues[labelValues.length - 1] ?? ''}${request},timestamp:${Math.floor(now.getTime() / 1000)}`;
}

export class MetricLogs {
  private readonly ts: LogFile;
  private readonly model: LogFile;

  constructor(
    dir: string,
    private readonly format: LogFormat,
  ) {
    this.ts = new LogFile(path.join(dir, 'ts_metrics.log'));
    this.model = new LogFile(path.join(dir, 'model_metrics.log'));
  }

  /** The listener for frontend families (ts_metrics.log). */
  readonly frontend: UpdateListener = (f, values, value) => this.ts.write(this.render(f, values, value, undefined, 'TS_METRICS'));

  /** The listener for handler families (model_metrics.log). */
  readonly backend: UpdateListener = (f, values, value, requestId) => this.model.write(this.render(f, values, value, requestId ?? '', 'MODEL_METRICS'));

  close(): Promise<void> {
    return Promise.all([this.ts.close(), this.model.close()]).then(() => undefined);
  }

  private render(f: TsFamily, values: readonly string[], value: number, requestId: string | undefined, logger: string): string {
    const now = new Date();
    if (this.format === 'text') return `${log4jTimestamp(now)} - ${escapeControl(metricLine(f, values, value, requestId, now))}\n`;
    const n = Math.min(f.labelNames.length, values.length) - 1;
    return (
      JSON.stringify({
        time: now.toISOString(),
        logger,
        metric: f.name,
        type: f.type,
        unit: f.unit,
        value,
        dimensions: Object.fromEntries(f.labelNames.slice(0, n).map((name, i) => [name, values[i]])),
        hostname: values[values.length - 1] ?? '',
        ...(requestId === undefined ? {} : { request_id: requestId }),
      }) + '\n'
    );
  }
}
