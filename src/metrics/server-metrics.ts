/**
 * The metrics of one server: TorchServe's frontend families (torchserve-text.ts), the system metrics,
 * and ortserve's own (ortserve-metrics.ts), behind the `ServerMetrics` hooks, and the `/metrics` body
 * for `metrics_mode` and the `name[]` filter (spec §4.1).
 */
import os from 'node:os';
import type { ServerConfig } from '../config/types.js';
import type { ModelManager } from '../registry/model-manager.js';
import type { MetricUpdate } from '../handler-api/metrics.js';
import type { BatchReport } from '../handler-api/observations.js';
import type { MeteredJob, RejectReason, ServerMetrics } from './hooks.js';
import { MetricLogs } from './metric-log.js';
import { ModelMetricFamilies } from './model-metrics.js';
import { OrtserveMetrics, type StateSource, type VersionState } from './ortserve-metrics.js';
import { SystemMetrics } from './system-metrics.js';
import { TorchServeFamilies, type TsFamily } from './torchserve-text.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Microseconds with TorchServe's precision (it divides nanoseconds by 1000.0). */
const micros = (ms: number): number => Math.round(ms * 1_000_000) / 1000;

type MetricsSettings = Pick<
  ServerConfig,
  'metricsMode' | 'metricTimeIntervalSec' | 'disableSystemMetrics' | 'metricsConfig' | 'logLocation' | 'logFormat' | 'predictionMetrics'
>;

export class ServerMetricsImpl implements ServerMetrics {
  readonly hostname = os.hostname();
  readonly ts: TorchServeFamilies;
  /** The handlers' metrics (metrics.yaml `model_metrics`: HandlerTime, PredictionTime, custom ones). */
  readonly model: ModelMetricFamilies;
  readonly own: OrtserveMetrics;
  private readonly host: readonly string[];
  private readonly system: SystemMetrics | null;
  private readonly logs: MetricLogs | null = null;

  /** `log`: server log lines (dropped handler metric updates, auto-detected metrics). */
  constructor(
    private readonly config: MetricsSettings,
    state: StateSource,
    log: (message: string) => void = () => undefined,
  ) {
    this.host = ['Host', this.hostname];
    this.ts = new TorchServeFamilies(config.metricsConfig.tsMetrics);
    this.model = new ModelMetricFamilies(config.metricsConfig, this.hostname, log);
    this.own = new OrtserveMetrics(state, config.predictionMetrics);
    if (config.metricsMode !== 'prometheus') {
      // log: every TorchServe family goes to the metric logs; legacy: all but the three it exposes.
      this.logs = new MetricLogs(config.logLocation, config.logFormat);
      const exposed = new Set<TsFamily>(config.metricsMode === 'legacy' ? this.ts.legacy() : []);
      for (const f of this.ts.all()) if (!exposed.has(f)) f.listener = this.logs.frontend;
      this.model.setListener(this.logs.backend);
    }
    // After the listeners: the first collection is logged too.
    this.system = config.disableSystemMetrics ? null : new SystemMetrics(this.ts, this.host, config.metricTimeIntervalSec);
  }

  response(status: number): void {
    const family = status >= 200 && status < 300 ? this.ts.requests2xx : status >= 400 && status < 500 ? this.ts.requests4xx : this.ts.requests5xx;
    family.inc(this.host);
  }

  prediction(model: string, version: string, urlVersion: string | null, job: MeteredJob): (status: number | null) => void {
    const tsLabels = [model, urlVersion ?? 'default', this.hostname];
    this.ts.inferenceRequests.inc(tsLabels);
    this.own.inflight.inc({ model, version });
    let done = false;
    return (status) => {
      if (done) return;
      done = true;
      this.own.inflight.dec({ model, version });
      if (status === null) return;
      const now = performance.now();
      if (job.scheduledAt !== null) {
        this.ts.inferenceLatency.inc(tsLabels, micros(now - job.arrivedAt));
        this.ts.queueLatency.inc(tsLabels, micros(job.scheduledAt - job.arrivedAt));
      }
      this.own.requestDuration.observe({ model, version, code: String(status) }, (now - job.arrivedAt) / 1000);
    };
  }

  rejected(model: string, version: string, reason: RejectReason): void {
    this.own.rejected(model, version, reason);
  }

  batch(model: string, version: string, jobs: readonly MeteredJob[]): void {
    let maxCost = 0;
    for (const j of jobs) {
      const waitMs = (j.scheduledAt ?? performance.now()) - j.arrivedAt;
      this.own.queueWait.observe({ model, version }, waitMs / 1000);
      this.ts.queueTime.set(this.host, Math.round(waitMs));
      maxCost = Math.max(maxCost, j.cost);
    }
    this.own.batchSize.observe({ model, version }, jobs.length);
    this.own.paddedTokens.observe({ model, version }, maxCost * jobs.length);
  }

  workerThreadTime(ms: number): void {
    this.ts.workerThreadTime.set(this.host, Math.round(ms));
  }

  workerLoaded(model: string, version: string, workerId: string, ms: number): void {
    this.ts.workerLoadTime.set([`W-${workerId}-${model}_${version}`, ...this.host], Math.round(ms));
  }

  workerRestarted(model: string, version: string): void {
    this.own.workerRestarts.inc({ model, version });
  }

  workerLost(model: string, version: string): void {
    this.own.workerThreadsLost.inc({ model, version });
  }

  modelLoad(model: string, version: string, ok: boolean): void {
    this.own.modelLoads.inc({ model, version, result: ok ? 'success' : 'failure' });
    // A registered version shows 0 restarts rather than no series, so rate() and alerts see it from the start.
    if (ok) this.own.workerRestarts.inc({ model, version }, 0);
    if (ok) this.own.workerThreadsLost.inc({ model, version }, 0);
  }

  handled(model: string, version: string, report: BatchReport | null, updates: readonly MetricUpdate[]): void {
    if (report) this.own.report(model, version, report);
    for (const u of updates) this.model.apply(u);
  }

  /**
   * The `/metrics` body. `names`: the `name[]` values (exact family names), or empty for everything.
   * log mode: empty; legacy: only TorchServe's three per-model counters; prometheus: every TorchServe
   * family (frontend, then handler metrics) in its own style, then ortserve's families in prom-client's
   * standard format.
   */
  async exposition(names: readonly string[]): Promise<string> {
    const mode = this.config.metricsMode;
    if (mode === 'log') return '';
    const wanted = names.length > 0 ? new Set(names) : null;
    const families = mode === 'legacy' ? this.ts.legacy() : [...this.ts.all(), ...this.model.all()];
    let out = families.filter((f) => !wanted || wanted.has(f.name)).map((f) => f.render()).join('');
    if (mode === 'legacy') return out;
    if (!wanted) return out + (await this.own.registry.metrics());
    for (const name of wanted) {
      if (this.own.registry.getSingleMetric(name)) out += `${await this.own.registry.getSingleMetricAsString(name)}\n`;
    }
    return out;
  }

  async close(): Promise<void> {
    this.system?.stop();
    this.own.registry.clear();
    await this.logs?.close();
  }
}

/** The scrape-time state of every registered model version. */
export function versionStates(manager: ModelManager): VersionState[] {
  return manager.registry.all().map((mv) => ({
    model: mv.name,
    version: mv.version,
    queueDepth: mv.queue.size,
    droppedCancelled: mv.queue.droppedCancelled,
    droppedExpired: mv.queue.droppedExpired,
    workers: mv.workerList,
    operatingPoint: mv.operatingPoint,
  }));
}
