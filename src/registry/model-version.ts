/**
 * One registered version of a model: its opened archive, compiled handler, settings, job queue and
 * workers (TorchServe's `Model` plus its share of WorkLoadManager).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { OpenedArchive } from '../archive/types.js';
import type { ServerConfig } from '../config/types.js';
import { InternalServerException, ServiceUnavailableException } from '../errors.js';
import { CONSOLE_OUTPUT, type WorkerOutput } from '../logging/worker-output.js';
import { NO_METRICS, type ServerMetrics } from '../metrics/hooks.js';
import { JobQueue } from '../scheduling/job-queue.js';
import type { Job } from '../scheduling/job.js';
import type { OperatingPoint } from '../scheduling/operating-point.js';
import { isUnusable, type HandlerModule, type PreparedHandler } from '../workers/handler-source.js';
import { WorkerHandle } from '../workers/worker-handle.js';
import { threadsPerWorker, type VersionSettings } from './settings.js';

export const SERVER_VERSION = '0.1.0';

/** Hands out worker ids the way TorchServe hands out worker ports: from 9000, never reused. */
export class WorkerIdCounter {
  constructor(private next: number) {}
  take(): number {
    return this.next++;
  }
}

export interface ModelVersionInit {
  name: string;
  version: string;
  url: string;
  archive: OpenedArchive;
  handler: PreparedHandler;
  settings: VersionSettings;
  runtime: string;
  loadedAtStartup: boolean;
  /** Private directory of this version (compiled handler); removed on unregister. */
  workDir: string;
  /** An archive downloaded into the model store for this version; deleted on unregister. */
  downloadedFile: string | null;
}

export class ModelVersion {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly archive: OpenedArchive;
  readonly handler: PreparedHandler;
  readonly settings: VersionSettings;
  readonly runtime: string;
  readonly loadedAtStartup: boolean;
  readonly queue: JobQueue;
  private readonly workDir: string;
  private readonly downloadedFile: string | null;
  private workers: WorkerHandle[] = [];
  private disposed = false;
  /** Aborted when calibration must end early: unregister, a scale request, server shutdown. */
  readonly calibrationStop = new AbortController();
  private tuning: Promise<void> | null = null;
  /** What the version runs with and why (issue 16): explicit settings, or what calibration chose. */
  operatingPoint: OperatingPoint;

  constructor(
    init: ModelVersionInit,
    private readonly config: ServerConfig,
    private readonly ids: WorkerIdCounter,
    private readonly metrics: ServerMetrics = NO_METRICS,
    private readonly workerOutput: WorkerOutput = CONSOLE_OUTPUT,
  ) {
    this.name = init.name;
    this.version = init.version;
    this.url = init.url;
    this.archive = init.archive;
    this.handler = init.handler;
    this.settings = init.settings;
    this.runtime = init.runtime;
    this.loadedAtStartup = init.loadedAtStartup;
    this.workDir = init.workDir;
    this.downloadedFile = init.downloadedFile;
    this.queue = new JobQueue(init.settings.jobQueueSize);
    this.operatingPoint = this.explicitPoint(init.settings.autoLayout ? 'default' : 'explicit');
  }

  /** The version's shared ORT-format model files (removed with workDir), or null without sharing. */
  get sharedWeightsDir(): string | null {
    return this.settings.sharedWeights ? path.join(this.workDir, 'ort-cache') : null;
  }

  /** The layout the current settings give, before or without calibration. */
  private explicitPoint(source: 'explicit' | 'default', reason?: string): OperatingPoint {
    const s = this.settings;
    return {
      workers: s.minWorkers,
      intraOpThreads: threadsPerWorker(this.config, s.minWorkers),
      batchSize: s.batchSize,
      source,
      reason: reason ?? (source === 'explicit' ? 'set by the worker count or intra_op_threads settings' : 'default layout, not calibrated'),
      measured: [],
    };
  }

  get workerList(): readonly WorkerHandle[] {
    return this.workers;
  }

  /** Healthy for `/ping`: enough workers out of long recovery (spec §1.2). */
  isHealthy(): boolean {
    const healthy = this.workers.filter((w) => w.isHealthy()).length;
    return healthy >= this.settings.minWorkers;
  }

  /**
   * Queues a job, or throws TorchServe's 503 when there is no worker at all or the queue is full.
   */
  submit(job: Job, versionInUrl: boolean): void {
    if (this.workers.length === 0 || !this.queue.offer(job)) throw this.noWorker(versionInUrl);
  }

  /** TorchServe's 503 for "no worker or a full queue" (one message for both, odd quote included). */
  private noWorker(versionInUrl: boolean): ServiceUnavailableException {
    const who = versionInUrl ? `Model "${this.name}" Version ${this.version}"` : `Model "${this.name}"`;
    return new ServiceUnavailableException(
      `${who} has no worker to serve inference request. Please use scale workers API to add workers. ` +
        'If this is a sequence inference, please check if it is closed, or expired; or exceeds maxSequenceJobQueueSize',
    );
  }

  /**
   * Drives the worker count to exactly `min` (spec §2.2). With `wait`, resolves once the new workers
   * loaded and rejects with the first load failure.
   */
  async scale(min: number, max: number, wait: boolean): Promise<void> {
    // A scale request is an explicit worker count: it ends workers=auto, and a calibration under way is ignored.
    this.settings.autoLayout = false;
    this.calibrationStop.abort();
    this.settings.minWorkers = min;
    this.operatingPoint = this.explicitPoint('explicit', 'set by a scale request');
    await this.resize(min, max, wait);
  }

  /**
   * Starts the version's workers at registration; with workers=auto, `onLoaded` runs once they loaded
   * (it calibrates, off the HTTP thread).
   */
  async start(wait: boolean, onLoaded: (v: ModelVersion) => Promise<void>): Promise<void> {
    const started = this.resize(this.settings.minWorkers, this.settings.maxWorkers, true);
    const after = started.then(() => (this.settings.autoLayout ? (this.tuning = onLoaded(this)) : undefined));
    // A load failure reaches the caller through `started`; `after` must not surface it a second time.
    after.catch(() => undefined);
    if (wait) await started;
    else started.catch(() => undefined);
  }

  /**
   * Replaces every worker by `workers` workers of ⌊cores / workers⌋ threads (a calibrated layout). The
   * old workers keep serving until the new ones loaded; nothing changes if a scale request came first.
   */
  async relayout(workers: number): Promise<void> {
    const handler = this.handler;
    if (isUnusable(handler) || !this.settings.autoLayout || this.disposed) return;
    const threads = threadsPerWorker(this.config, workers);
    const fresh = Array.from({ length: workers }, () => this.spawn(threads, handler));
    try {
      await Promise.all(fresh.map((w) => w.loaded()));
    } catch (err) {
      await Promise.all(fresh.map((w) => w.stop(0)));
      throw err;
    }
    if (!this.settings.autoLayout || this.disposed) {
      await Promise.all(fresh.map((w) => w.stop(0)));
      return;
    }
    const old = this.workers;
    this.workers = fresh;
    this.settings.minWorkers = this.settings.maxWorkers = workers;
    await Promise.all(old.map((w) => w.stop(this.config.unregisterModelTimeoutSec * 1000)));
  }

  /** Drives the worker count to exactly `min`. */
  private async resize(min: number, max: number, wait: boolean): Promise<void> {
    this.settings.minWorkers = min;
    this.settings.maxWorkers = max;
    const removed = this.workers.splice(min);
    const stopping = removed.map((w) => w.stop(this.config.unregisterModelTimeoutSec * 1000));
    if (min === 0) {
      // No worker will take what is queued: answer it now rather than leave it waiting forever.
      void Promise.all(stopping).then(() => {
        if (this.workers.length > 0) return;
        for (const job of this.queue.drain()) job.fail(this.noWorker(false));
      });
    }
    const handler = this.handler;
    if (isUnusable(handler)) {
      // As a TorchServe worker whose handler does not load: a scale up fails, the model stays registered.
      if (min > 0 && wait) throw new InternalServerException(handler.unusable);
      return;
    }
    const threads = threadsPerWorker(this.config, min);
    const added: WorkerHandle[] = [];
    while (this.workers.length < min) {
      const w = this.spawn(threads, handler);
      this.workers.push(w);
      added.push(w);
    }
    const loads = Promise.all(added.map((w) => w.loaded()));
    if (!wait) {
      loads.catch(() => undefined);
      return;
    }
    await Promise.all(stopping);
    await loads;
  }

  private spawn(threads: number, handler: HandlerModule): WorkerHandle {
    const s = this.settings;
    return new WorkerHandle(
      this.ids.take(),
      {
        info: {
          modelName: this.name,
          modelVersion: this.version,
          manifest: this.archive.manifest,
          modelYamlConfig: this.archive.modelConfig.raw,
          systemProperties: {
            model_dir: this.archive.modelDir,
            gpu_id: null,
            batch_size: s.batchSize,
            server_name: 'MMS',
            server_version: SERVER_VERSION,
            limit_max_image_pixels: true,
            intra_op_threads: threads,
            shared_weights_dir: this.sharedWeightsDir,
          },
        },
        handlerModule: handler.modulePath,
        handlerFunction: handler.functionName,
        decodeInputRequest: this.config.decodeInputRequest,
        declaredMetrics: this.config.metricsConfig.modelMetrics,
        serviceEnvelope: this.config.serviceEnvelope,
        maxExternalMb: s.maxWorkerExternalMb,
      },
      {
        queue: this.queue,
        policy: () => ({
          scheduler: this.config.batchScheduler,
          batchSize: Math.min(s.batchSize, this.operatingPoint.batchSize),
          maxBatchDelayMs: s.maxBatchDelay,
          maxBatchTokens: s.maxBatchTokens,
          clientTimeoutMs: s.clientTimeoutInMills,
        }),
        responseTimeoutSec: s.responseTimeout,
        startupTimeoutSec: s.startupTimeout,
        maxRetryTimeoutSec: s.maxRetryTimeoutInSec,
        maxHeapMb: s.maxWorkerHeapMb,
        metrics: this.metrics,
        workerOutput: this.workerOutput,
      },
    );
  }

  /**
   * Stops every worker (a running batch gets `graceMs`, by default unregister_model_timeout), fails what
   * is still queued, and removes the version's files.
   */
  async dispose(graceMs = this.config.unregisterModelTimeoutSec * 1000): Promise<void> {
    this.disposed = true;
    this.settings.autoLayout = false;
    this.calibrationStop.abort();
    await this.tuning?.catch(() => undefined);
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.stop(graceMs)));
    const gone = new InternalServerException(`Model "${this.name}" unregistered`, 503);
    for (const job of this.queue.drain()) job.fail(gone);
    await this.archive.dispose();
    await rm(this.workDir, { recursive: true, force: true });
    if (this.downloadedFile) await rm(this.downloadedFile, { force: true });
  }
}
