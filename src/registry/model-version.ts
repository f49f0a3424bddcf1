/**
 * One registered version of a model: its opened archive, compiled handler, settings, job queue and
 * workers (TorchServe's `Model` plus its share of WorkLoadManager).
 */
import { rm } from 'node:fs/promises';
import type { OpenedArchive } from '../archive/types.js';
import type { ServerConfig } from '../config/types.js';
import { InternalServerException, ServiceUnavailableException } from '../errors.js';
import { CONSOLE_OUTPUT, type WorkerOutput } from '../logging/worker-output.js';
import { NO_METRICS, type ServerMetrics } from '../metrics/hooks.js';
import { JobQueue } from '../scheduling/job-queue.js';
import type { Job } from '../scheduling/job.js';
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
          batchSize: s.batchSize,
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
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.stop(graceMs)));
    const gone = new InternalServerException(`Model "${this.name}" unregistered`, 503);
    for (const job of this.queue.drain()) job.fail(gone);
    await this.archive.dispose();
    await rm(this.workDir, { recursive: true, force: true });
    if (this.downloadedFile) await rm(this.downloadedFile, { force: true });
  }
}
