/**
 * What the rest of the server tells the metrics about. The HTTP layer, the registry and the workers see
 * only this interface (one line per hook), never prom-client; `createServerMetrics` implements it, and
 * `NO_METRICS` does nothing (unit tests, servers built without metrics).
 */
import type { MetricUpdate } from '../handler-api/metrics.js';
import type { BatchReport } from '../handler-api/observations.js';

/** A job as the metrics see it (scheduling/job.ts). */
export interface MeteredJob {
  /** performance.now() when the job was accepted. */
  readonly arrivedAt: number;
  /** performance.now() when a worker took it, or null while queued. */
  readonly scheduledAt: number | null;
  /** Estimated padded-token cost (batch-selection.ts `estimateTokens`). */
  readonly cost: number;
}

/** Why a prediction was answered 503 without running. */
export type RejectReason = 'queue_full' | 'no_worker' | 'job_ticket' | 'client_timeout' | 'memory';

export interface ServerMetrics {
  /** Every HTTP response sent, on every listener (Requests2XX/4XX/5XX). */
  response(status: number): void;
  /**
   * A prediction accepted for a known model (ts_inference_requests_total, in-flight gauge). `urlVersion`
   * is the version in the URL, or null ("default"). The returned function is called once when the
   * response is sent (its status) or the client went away (null).
   */
  prediction(model: string, version: string, urlVersion: string | null, job: MeteredJob): (status: number | null) => void;
  /** A prediction answered 503 before it was queued. */
  rejected(model: string, version: string, reason: RejectReason): void;
  /** A worker took a batch (QueueTime, queue wait, batch size, padded tokens). */
  batch(model: string, version: string, jobs: readonly MeteredJob[]): void;
  /** HTTP-thread time spent on one batch outside the worker thread (WorkerThreadTime). */
  workerThreadTime(ms: number): void;
  /** A worker thread loaded its handler (WorkerLoadTime). */
  workerLoaded(model: string, version: string, workerId: string, ms: number): void;
  /** A worker thread is being started again after it died or failed to load. */
  workerRestarted(model: string, version: string): void;
  /** A worker thread did not end when told to (blocked in a system call) and was abandoned (lost-threads.ts). */
  workerLost(model: string, version: string): void;
  /** A registration finished: the version is registered (success) or not (failure). */
  modelLoad(model: string, version: string, ok: boolean): void;
  /**
   * A worker finished a batch (answered or failed): its handler's report and `context.metrics` updates; or
   * it loaded its handler (`report` null): the updates made while loading.
   */
  handled(model: string, version: string, report: BatchReport | null, updates: readonly MetricUpdate[]): void;
}

const noop = (): void => undefined;

export const NO_METRICS: ServerMetrics = {
  response: noop,
  prediction: () => noop,
  rejected: noop,
  batch: noop,
  workerThreadTime: noop,
  workerLoaded: noop,
  workerRestarted: noop,
  workerLost: noop,
  modelLoad: noop,
  handled: noop,
};
