/**
 * The HTTP thread's side of one worker thread (TorchServe's WorkerThread, spec §8): it loads the
 * handler, pulls batches from the model version's queue, enforces the response timeout, and
 * restarts the thread with TorchServe's Fibonacci back-off when it dies.
 */
import { Worker } from 'node:worker_threads';
import { InternalServerException, MESSAGES, ServeError } from '../errors.js';
import { CONSOLE_OUTPUT, type WorkerOutput } from '../logging/worker-output.js';
import type { ServerMetrics } from '../metrics/hooks.js';
import type { BatchPolicy, JobQueue } from '../scheduling/job-queue.js';
import type { Job } from '../scheduling/job.js';
import { endThread } from './lost-threads.js';
import { workerResourceLimits } from './heap-limit.js';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';

/** What ends a batch: its result or its failure (intermediate parts come before it). */
type BatchReply = Extract<FromWorker, { type: 'result' | 'batch-failed' }>;

const WORKER_SCRIPT = new URL('./worker-main.js', import.meta.url);
const BACKOFF_SECONDS = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597];

export type WorkerState = 'starting' | 'ready' | 'recovering' | 'stopped';

export interface WorkerSettings {
  queue: JobQueue;
  /** Read before every batch, so that changed settings apply at once. */
  policy: () => BatchPolicy;
  responseTimeoutSec: number;
  startupTimeoutSec: number;
  maxRetryTimeoutSec: number;
  /** V8 old-generation bound of the thread in MB (heap-limit.ts); 0 or absent: V8's own limit. */
  maxHeapMb?: number;
  /** Load times, restarts and batches are reported here (src/metrics). */
  metrics?: ServerMetrics;
  /** Takes the thread's stdout/stderr (the model log); default: the console. */
  workerOutput?: WorkerOutput;
}

class LoadFailure extends ServeError {
  constructor(status: number, message: string) {
    super('InternalServerException', status, message);
  }
}

export class WorkerHandle {
  readonly id: string;
  readonly startTime = new Date();
  state: WorkerState = 'starting';
  /** True while a batch is in the worker (useJobTicket admits a job only when some worker is idle). */
  busy = false;
  /** Since when the worker has been failing, for the health rule; null while healthy. */
  private recoveringSince: number | null = null;
  private retry = 0;
  private thread: Worker | null = null;
  /** Aborted when the current thread exits, so an idle worker stops waiting for work and restarts. */
  private threadGone = new AbortController();
  /** The last error the thread raised; ERR_WORKER_OUT_OF_MEMORY turns "Worker died." into a 507. */
  private threadError: (Error & { code?: string }) | null = null;
  /** The thread reported external memory over its bound: "Worker died." is a 507 too. */
  private memoryExceeded = false;
  private stopping = false;
  private readonly abort = new AbortController();
  private pending: {
    batchId: number;
    jobs: Job[];
    resolve: (m: BatchReply | 'died') => void;
    /** Restarts the response timeout: each intermediate part (streaming) shows the handler is alive. */
    progress: () => void;
  } | null = null;
  private batchCounter = 0;
  private firstLoad: Promise<void>;
  private resolveFirstLoad!: () => void;
  private rejectFirstLoad!: (e: ServeError) => void;
  private loop: Promise<void>;

  constructor(
    port: number,
    private readonly init: WorkerInit,
    private readonly settings: WorkerSettings,
  ) {
    this.id = String(port);
    this.firstLoad = new Promise((res, rej) => {
      this.resolveFirstLoad = res;
      this.rejectFirstLoad = rej;
    });
    this.firstLoad.catch(() => undefined);
    this.loop = this.run().catch((err: unknown) => {
      console.error(`[worker ${this.id}] stopped: ${err instanceof Error ? err.message : String(err)}`);
      this.state = 'stopped';
    });
  }

  /** Resolves when the handler loaded the first time; rejects with TorchServe's status if it failed. */
  loaded(): Promise<void> {
    return this.firstLoad;
  }

  /** False once the worker has been in recovery longer than maxRetryTimeoutInSec (spec §1.2). */
  isHealthy(now = Date.now()): boolean {
    if (this.recoveringSince === null) return true;
    return now - this.recoveringSince < this.settings.maxRetryTimeoutSec * 1000;
  }

  /**
   * Stops pulling work, lets the current batch finish for up to `graceMs`, then ends the thread. A batch
   * still running then is answered "Worker died."; a thread that does not end is abandoned (endThread),
   * so this always returns.
   */
  async stop(graceMs: number): Promise<boolean> {
    this.stopping = true;
    this.abort.abort();
    const finished = await Promise.race([
      this.loop.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref()),
    ]);
    this.pending?.resolve('died');
    if (this.thread) await this.end(this.thread);
    this.state = 'stopped';
    return finished;
  }

  /** Ends a thread of this worker; one that will not end is abandoned, logged and counted. */
  private async end(thread: Worker): Promise<void> {
    const { modelName, modelVersion } = this.init.info;
    await endThread(thread, () => {
      console.error(
        `[worker ${this.id}] the thread of ${modelName} ${modelVersion} did not end when told to (its handler is blocked in a synchronous call); abandoned`,
      );
      this.settings.metrics?.workerLost(modelName, modelVersion);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const ok = await this.start();
      if (!ok) {
        if (!(await this.backoff())) return;
        continue;
      }
      await this.serve();
      if (!this.stopping && !(await this.backoff())) return;
    }
  }

  /** Starts the thread and waits for the handler to load. */
  private async start(): Promise<boolean> {
    const { modelName, modelVersion } = this.init.info;
    if (this.thread) this.settings.metrics?.workerRestarted(modelName, modelVersion);
    const loadStart = performance.now();
    this.state = this.recoveringSince === null ? 'starting' : 'recovering';
    this.threadError = null;
    this.memoryExceeded = false;
    const heap = this.settings.maxHeapMb ?? 0;
    const thread = new Worker(WORKER_SCRIPT, {
      workerData: this.init,
      stdout: true,
      stderr: true,
      ...(heap > 0 ? { resourceLimits: workerResourceLimits(heap) } : {}),
    });
    (this.settings.workerOutput ?? CONSOLE_OUTPUT)(thread, `W-${this.id}-${this.init.info.modelName}_${this.init.info.modelVersion}`);
    this.thread = thread;
    const outcome = await new Promise<FromWorker | 'died' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), this.settings.startupTimeoutSec * 1000);
      thread.once('message', (m: FromWorker) => {
        clearTimeout(timer);
        resolve(m);
      });
      thread.once('error', () => resolve('died'));
      thread.once('exit', () => resolve('died'));
    });
    if (typeof outcome === 'object' && outcome.type === 'loaded') {
      const gone = new AbortController();
      this.threadGone = gone;
      thread.on('message', (m: FromWorker) => this.onMessage(m));
      thread.on('error', (err) => {
        this.threadError = err;
        console.error(`[worker ${this.id}] ${err.message}`);
      });
      thread.once('exit', () => {
        gone.abort();
        // An abandoned thread may end long after a replacement took over: its exit is not the new batch's.
        if (this.thread === thread) this.pending?.resolve('died');
      });
      this.state = 'ready';
      this.settings.metrics?.workerLoaded(modelName, modelVersion, this.id, performance.now() - loadStart);
      this.settings.metrics?.handled(modelName, modelVersion, null, outcome.metrics);
      this.recoveringSince = null;
      this.retry = 0;
      this.resolveFirstLoad();
      return true;
    }
    await this.end(thread);
    const failure =
      typeof outcome === 'object' && outcome.type === 'load-failed'
        ? new LoadFailure(outcome.status, outcome.message)
        : new LoadFailure(500, outcome === 'timeout' ? 'Worker load timed out' : 'Worker died while loading');
    this.rejectFirstLoad(failure);
    return false;
  }

  /** Pulls batches until the thread dies or the worker stops. */
  private async serve(): Promise<void> {
    const signal = AbortSignal.any([this.abort.signal, this.threadGone.signal]);
    while (!this.stopping) {
      const jobs = await this.settings.queue.nextBatch(this.settings.policy(), signal);
      if (this.threadGone.signal.aborted) {
        // The thread died while idle: put back what was taken and restart it.
        for (const j of jobs.reverse()) this.settings.queue.requeue(j);
        this.state = 'recovering';
        this.recoveringSince ??= Date.now();
        return;
      }
      if (jobs.length === 0) continue;
      const alive = await this.runBatch(jobs);
      if (!alive) return;
    }
  }

  private async runBatch(jobs: Job[]): Promise<boolean> {
    const now = performance.now();
    for (const j of jobs) j.scheduledAt = now;
    this.settings.metrics?.batch(this.init.info.modelName, this.init.info.modelVersion, jobs);
    const batchId = ++this.batchCounter;
    this.busy = true;
    let timer: NodeJS.Timeout | undefined;
    const armTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => this.pending?.resolve('died'), this.settings.responseTimeoutSec * 1000);
    };
    const reply = new Promise<BatchReply | 'died'>((resolve) => (this.pending = { batchId, jobs, resolve, progress: armTimer }));
    const msg: ToWorker = { type: 'predict', batchId, requests: jobs.map((j) => j.request) };
    this.thread!.postMessage(msg);
    const posted = performance.now();
    armTimer();
    const result = await reply;
    const replied = performance.now();
    clearTimeout(timer);
    this.pending = null;
    this.busy = false;
    if (result === 'died') {
      const oom = this.threadError?.code === 'ERR_WORKER_OUT_OF_MEMORY' || this.memoryExceeded;
      const err = new InternalServerException(MESSAGES.workerDied, oom ? 507 : 500);
      for (const j of jobs) j.fail(err);
      this.state = 'recovering';
      this.recoveringSince ??= Date.now();
      await this.end(this.thread!);
      return false;
    }
    if (result.type === 'batch-failed') {
      const err = new InternalServerException(result.error.message, result.error.status);
      for (const j of jobs) j.fail(err);
    } else {
      result.responses.forEach((r, i) => jobs[i]!.complete(r));
    }
    // After the answers: the HTTP responses go out before the main thread spends time on metrics.
    this.settings.metrics?.handled(this.init.info.modelName, this.init.info.modelVersion, result.telemetry.report, result.telemetry.metrics);
    this.settings.metrics?.workerThreadTime(posted - now + (performance.now() - replied));
    return true;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'memory-exceeded') {
      console.error(`[worker ${this.id}] external memory ${m.externalMb} MB is over maxWorkerExternalMb (${m.limitMb} MB); restarting the thread`);
      this.memoryExceeded = true;
      // A running batch fails with 507 (runBatch ends the thread); an idle thread is ended here, and its
      // exit makes serve() start a new one.
      if (this.pending) this.pending.resolve('died');
      else if (this.thread) void this.end(this.thread);
      return;
    }
    if (m.type === 'intermediate') {
      if (this.pending?.batchId !== m.batchId) return;
      this.pending.progress();
      for (const part of m.parts) {
        const job = this.pending.jobs[part.index];
        if (!job) continue;
        if ('error' in part) job.fail(new InternalServerException(part.error.message, part.error.status));
        else job.intermediate(part.response);
      }
      return;
    }
    if ((m.type === 'result' || m.type === 'batch-failed') && this.pending?.batchId === m.batchId) this.pending.resolve(m);
  }

  /** Waits the next Fibonacci delay; false when retrying should stop. */
  private async backoff(): Promise<boolean> {
    this.recoveringSince ??= Date.now();
    this.state = 'recovering';
    if (this.stopping || !this.isHealthy()) return false;
    const delay = BACKOFF_SECONDS[Math.min(this.retry++, BACKOFF_SECONDS.length - 1)]! * 1000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.abort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    return !this.stopping;
  }
}
