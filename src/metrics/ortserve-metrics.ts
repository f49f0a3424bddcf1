/**
 * ortserve's own metrics (beyond TorchServe; base units, `ortserve_` prefix) on a prom-client registry,
 * plus prom-client's default process and Node.js metrics (CPU, memory, event-loop lag, GC) on the same
 * registry under their standard names. Gauges of queue depth and workers, and the counters the job
 * queue keeps itself, are read at scrape time from the model versions (`collect()`), not bookkept.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchReport, HandlerPhase } from '../handler-api/observations.js';

/** The state of one model version at scrape time. */
export interface VersionState {
  model: string;
  version: string;
  queueDepth: number;
  /** Jobs skipped because their client had gone (JobQueue.droppedCancelled). */
  droppedCancelled: number;
  /** Jobs answered 503 after waiting longer than clientTimeoutInMills (JobQueue.droppedExpired). */
  droppedExpired: number;
  workers: ReadonlyArray<{ state: string; busy: boolean }>;
  /** The version's operating point (issue 16); `source` says whether it was calibrated. */
  operatingPoint?: { workers: number; intraOpThreads: number; batchSize: number; source: string };
}

export type StateSource = () => Iterable<VersionState>;

export const WORKER_STATES = ['starting', 'ready', 'busy', 'recovering', 'stopped'] as const;
const MV = ['model', 'version'] as const;
const PHASE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Labels are handler output: a bound keeps a runaway handler from growing the registry without end. */
export const MAX_LABELS = 256;
export const OTHER_LABEL = '__other__';

export class OrtserveMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'model' | 'version' | 'code'>;
  readonly queueWait: Histogram<'model' | 'version'>;
  readonly batchSize: Histogram<'model' | 'version'>;
  readonly paddedTokens: Histogram<'model' | 'version'>;
  readonly inflight: Gauge<'model' | 'version'>;
  readonly handlerTime: Histogram<'model' | 'version'>;
  readonly phaseTime: Record<HandlerPhase, Histogram<'model' | 'version'>>;
  readonly batchPaddedTokens: Histogram<'model' | 'version'>;
  readonly inputTokens: Histogram<'model' | 'version'>;
  readonly unknownTokens: Counter<'model' | 'version'>;
  readonly predictedLabels: Counter<'model' | 'version' | 'output' | 'label'>;
  readonly workerRestarts: Counter<'model' | 'version'>;
  readonly workerThreadsLost: Counter<'model' | 'version'>;
  readonly modelLoads: Counter<'model' | 'version' | 'result'>;
  /** Rejections counted by the HTTP layer; client_timeout comes from the queues at scrape time. */
  private readonly rejections = new Map<string, { model: string; version: string; reason: string; n: number }>();

  /**
   * `predictionMetrics` false (config `prediction_metrics`): the families derived from what was
   * predicted (labels, token counts) are kept off the registry, so /metrics does not show them; they
   * are still updated, which costs less than a test on every observation.
   */
  constructor(state: StateSource, predictionMetrics = true) {
    const registers = [this.registry];
    const predictionRegisters = predictionMetrics ? registers : [];
    const rejections = this.rejections;
    collectDefaultMetrics({ register: this.registry });
    this.requestDuration = new Histogram({
      name: 'ortserve_request_duration_seconds',
      help: 'Time from a prediction request being accepted to its response being sent, by HTTP status',
      labelNames: [...MV, 'code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.queueWait = new Histogram({
      name: 'ortserve_queue_wait_seconds',
      help: 'Time a job waited in its model version queue before a worker took it',
      labelNames: MV,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'ortserve_batch_size',
      help: 'Jobs per batch sent to a worker',
      labelNames: MV,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.paddedTokens = new Histogram({
      name: 'ortserve_batch_estimated_padded_tokens',
      help: "Estimated padded tokens per batch: the batch's longest estimated job times its size",
      labelNames: MV,
      buckets: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
      registers,
    });
    const phase = (name: string, help: string): Histogram<'model' | 'version'> =>
      new Histogram({ name, help, labelNames: MV, buckets: PHASE_BUCKETS, registers });
    const counter = (name: string, help: string): Counter<'model' | 'version'> => new Counter({ name, help, labelNames: MV, registers });
    this.handlerTime = phase('ortserve_handler_seconds', "Time the handler took for one batch in its worker thread (whole handle call)");
    this.phaseTime = {
      preprocess: phase('ortserve_preprocess_seconds', 'Time of the preprocess phase of one batch (decoding, tokenization, tensors)'),
      inference: phase('ortserve_inference_seconds', 'Time of the inference phase of one batch (ONNX Runtime session runs)'),
      postprocess: phase('ortserve_postprocess_seconds', 'Time of the postprocess phase of one batch (scores to answers)'),
    };
    this.batchPaddedTokens = new Histogram({
      name: 'ortserve_batch_padded_tokens',
      help: 'Tokens the model ran on per batch, padding included, as the handler reported them',
      labelNames: MV,
      buckets: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
      registers: predictionRegisters,
    });
    this.inputTokens = new Histogram({
      name: 'ortserve_input_tokens',
      help: 'Tokens per input sequence (after truncation, special tokens included); _sum over a batch is its real tokens',
      labelNames: MV,
      buckets: [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
      registers: predictionRegisters,
    });
    this.unknownTokens = new Counter({
      name: 'ortserve_unknown_tokens_total',
      help: 'Input tokens the tokenizer mapped to its unknown token (share: rate of this / rate of ortserve_input_tokens_sum)',
      labelNames: MV,
      registers: predictionRegisters,
    });
    this.predictedLabels = new Counter({
      name: 'ortserve_predicted_labels_total',
      help: `Predictions by output and label (drift); at most ${MAX_LABELS} labels per model version, then "${OTHER_LABEL}"`,
      labelNames: [...MV, 'output', 'label'],
      registers: predictionRegisters,
    });
    this.inflight = new Gauge({
      name: 'ortserve_inflight_requests',
      help: 'Prediction requests accepted and not yet answered (queued or in a worker)',
      labelNames: MV,
      registers,
    });
    new Gauge({
      name: 'ortserve_queue_depth',
      help: 'Jobs waiting in the model version queue',
      labelNames: MV,
      registers,
      collect() {
        this.reset();
        for (const v of state()) this.set({ model: v.model, version: v.version }, v.queueDepth);
      },
    });
    new Gauge({
      name: 'ortserve_workers',
      help: 'Worker threads by state (busy: ready and running a batch)',
      labelNames: [...MV, 'state'],
      registers,
      collect() {
        this.reset();
        for (const v of state()) {
          for (const s of WORKER_STATES) {
            const n = v.workers.filter((w) => (s === 'busy' ? w.state === 'ready' && w.busy : s === 'ready' ? w.state === 'ready' && !w.busy : w.state === s)).length;
            this.set({ model: v.model, version: v.version, state: s }, n);
          }
        }
      },
    });
    new Gauge({
      name: 'ortserve_operating_point',
      help: 'The layout a model version runs with (workers, intra_op_threads, batch_size); source: explicit, calibrating, calibrated or default',
      labelNames: [...MV, 'setting', 'source'],
      registers,
      collect() {
        this.reset();
        for (const v of state()) {
          const p = v.operatingPoint;
          if (!p) continue;
          const labels = { model: v.model, version: v.version, source: p.source };
          this.set({ ...labels, setting: 'workers' }, p.workers);
          this.set({ ...labels, setting: 'intra_op_threads' }, p.intraOpThreads);
          this.set({ ...labels, setting: 'batch_size' }, p.batchSize);
        }
      },
    });
    new Counter({
      name: 'ortserve_rejected_requests_total',
      help: 'Predictions answered 503 without running, by reason',
      labelNames: [...MV, 'reason'],
      registers,
      collect() {
        this.reset();
        for (const r of rejections.values()) this.inc({ model: r.model, version: r.version, reason: r.reason }, r.n);
        for (const v of state()) this.inc({ model: v.model, version: v.version, reason: 'client_timeout' }, v.droppedExpired);
      },
    });
    new Counter({
      name: 'ortserve_dropped_jobs_total',
      help: 'Queued jobs skipped because their client had gone',
      labelNames: MV,
      registers,
      collect() {
        this.reset();
        for (const v of state()) this.inc({ model: v.model, version: v.version }, v.droppedCancelled);
      },
    });
    this.workerRestarts = counter('ortserve_worker_restarts_total', 'Worker threads started again after dying or failing to load');
    this.workerThreadsLost = counter(
      'ortserve_worker_threads_lost_total',
      'Worker threads that did not end when told to (blocked in a synchronous system call) and were abandoned',
    );
    this.modelLoads = new Counter({
      name: 'ortserve_model_loads_total',
      help: 'Model registrations (startup, snapshot restore, management API) by result',
      labelNames: [...MV, 'result'],
      registers,
    });
  }

  /** Labels seen per model version, for the MAX_LABELS bound. */
  private readonly seenLabels = new Map<string, Set<string>>();

  /** A batch's handler report: phase times, tokens, labels. */
  report(model: string, version: string, r: BatchReport): void {
    const mv = { model, version };
    this.handlerTime.observe(mv, r.handlerMs / 1000);
    for (const [name, ms] of Object.entries(r.phasesMs) as Array<[HandlerPhase, number]>) this.phaseTime[name].observe(mv, ms / 1000);
    for (const n of r.inputTokens) this.inputTokens.observe(mv, n);
    if (r.inputTokens.length > 0) this.unknownTokens.inc(mv, r.unknownTokens);
    if (r.paddedTokens > 0) this.batchPaddedTokens.observe(mv, r.paddedTokens);
    const key = `${model}\u0000${version}`;
    let seen = this.seenLabels.get(key);
    if (!seen) this.seenLabels.set(key, (seen = new Set()));
    for (const [output, label] of r.labels) {
      const pair = `${output}\u0000${label}`;
      if (!seen.has(pair) && seen.size < MAX_LABELS) seen.add(pair);
      this.predictedLabels.inc({ ...mv, output, label: seen.has(pair) ? label : OTHER_LABEL });
    }
  }

  rejected(model: string, version: string, reason: string): void {
    const key = `${model}\u0000${version}\u0000${reason}`;
    const r = this.rejections.get(key) ?? { model, version, reason, n: 0 };
    r.n++;
    this.rejections.set(key, r);
  }
}
