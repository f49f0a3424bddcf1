/**
 * The handlers' metrics on the server side (TorchServe's backend metrics, spec §4.2–4.4): the families
 * metrics.yaml declares under `model_metrics` (HandlerTime and PredictionTime by default) plus, with
 * `model_metrics_auto_detect=true`, the undeclared ones handlers send. As in TorchServe's frontend, a
 * metric is found by name, `Hostname` is appended to its dimensions, and an update whose dimensions do
 * not fit the declared ones is dropped with an error line in the server log.
 */
import type { MetricUpdate } from '../handler-api/metrics.js';
import type { MetricsConfig } from './metrics-config.js';
import { TsFamily, type UpdateListener } from './torchserve-text.js';

export class ModelMetricFamilies {
  private readonly families = new Map<string, TsFamily>();
  private listener: UpdateListener | null = null;

  constructor(
    private readonly config: MetricsConfig,
    private readonly hostname: string,
    private readonly log: (message: string) => void,
  ) {
    for (const d of config.modelMetrics) this.families.set(d.name, new TsFamily(d.name, d.type, d.unit, [...d.dimensions, 'Hostname']));
  }

  /** Every family, declared ones first, then auto-detected ones in order of arrival. */
  all(): TsFamily[] {
    return [...this.families.values()];
  }

  /** Sends every update (now and for families detected later) to `listener` (log mode). */
  setListener(listener: UpdateListener): void {
    this.listener = listener;
    for (const f of this.families.values()) f.listener = listener;
  }

  apply(update: MetricUpdate): void {
    let family = this.families.get(update.name);
    if (!family) {
      if (!this.config.autoDetect) return;
      family = new TsFamily(update.name, update.type, update.unit, [...update.dimensionNames, 'Hostname']);
      family.listener = this.listener;
      this.families.set(update.name, family);
      this.log(`Registering auto detected backend metric: ${update.name}`);
    }
    const values = [...update.dimensionValues, this.hostname];
    if (values.length !== family.labelNames.length) {
      this.log(
        `Failed to update backend metric ${update.name}: dimensions [${update.dimensionNames.join(', ')}] ` +
          `do not match [${family.labelNames.slice(0, -1).join(', ')}]`,
      );
      return;
    }
    family.update(values, update.value, update.requestId);
  }
}
