/**
 * The job queue of one model version: a bounded FIFO that idle workers pull batches from.
 *
 * Two ways to form a batch (config `batch_scheduler`):
 * - `adaptive` (ortserve's default): the worker waits only for a first job; then it takes, without
 *   waiting, a batch of what is queued, grouped by length (batch-selection.ts). A lone request on an
 *   idle worker goes at once; under load, batches fill from the jobs that queued while workers were busy.
 * - `torchserve`: TorchServe's `Model.pollBatch` (spec §8): after the first job, collect up to
 *   `batchSize - 1` more in arrival order, waiting up to `maxBatchDelayMs` from the first one.
 */
import { ServiceUnavailableException } from '../errors.js';
import { countPasses, selectBatch } from './batch-selection.js';
import { Job } from './job.js';

export interface BatchPolicy {
  scheduler: 'adaptive' | 'torchserve';
  batchSize: number;
  maxBatchDelayMs: number;
  maxBatchTokens: number;
  /** Jobs that waited longer than this (ms) are answered 503 instead of run; 0 = never. */
  clientTimeoutMs: number;
}

type Waiter = (job: Job | null) => void;

export class JobQueue {
  private jobs: Job[] = [];
  private waiters: Waiter[] = [];
  /** Jobs skipped because their client had gone; read by metrics. */
  droppedCancelled = 0;
  /** Jobs answered 503 because they waited longer than clientTimeoutInMills. */
  droppedExpired = 0;

  constructor(public capacity: number) {}

  get size(): number {
    return this.jobs.length;
  }

  get remainingCapacity(): number {
    return Math.max(0, this.capacity - this.jobs.length);
  }

  /** Adds a job; false when the queue is full (the caller answers 503). */
  offer(job: Job): boolean {
    if (this.jobs.length >= this.capacity) return false;
    const waiter = this.waiters.shift();
    if (waiter) waiter(job);
    else this.jobs.push(job);
    return true;
  }

  /** Puts a job back at the head of the queue (a worker that took it could not run it). */
  requeue(job: Job): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(job);
    else this.jobs.unshift(job);
  }

  /** Takes the next batch; resolves to [] only when `signal` aborts while waiting. */
  async nextBatch(policy: BatchPolicy, signal: AbortSignal): Promise<Job[]> {
    let first: Job | null;
    do first = await this.poll(Infinity, signal, policy);
    while (first && this.expire(first, policy));
    if (!first) return [];
    return policy.scheduler === 'torchserve' ? this.fillInOrder(first, policy, signal) : this.fillByLength(first, policy);
  }

  /** Removes every queued job (unregister); the caller fails them. */
  drain(): Job[] {
    const jobs = this.jobs;
    this.jobs = [];
    return jobs;
  }

  private fillByLength(first: Job, policy: BatchPolicy): Job[] {
    this.jobs = this.jobs.filter((j) => !this.skip(j, policy));
    if (this.jobs.length === 0 || policy.batchSize <= 1) return [first];
    const batch = selectBatch([first, ...this.jobs], policy);
    const chosen = new Set(batch);
    this.jobs = this.jobs.filter((j) => !chosen.has(j));
    countPasses(this.jobs, batch);
    return batch;
  }

  private async fillInOrder(first: Job, policy: BatchPolicy, signal: AbortSignal): Promise<Job[]> {
    const batch = [first];
    const deadline = performance.now() + policy.maxBatchDelayMs;
    while (batch.length < policy.batchSize) {
      const job = this.takeLive(policy) ?? (await this.poll(deadline - performance.now(), signal, policy));
      if (!job) break;
      batch.push(job);
    }
    return batch;
  }

  /** True when the job must not run: its client is gone, or it waited too long (then it is answered). */
  private skip(job: Job, policy: BatchPolicy): boolean {
    if (job.cancelled) {
      this.droppedCancelled++;
      return true;
    }
    return this.expire(job, policy);
  }

  private expire(job: Job, policy: BatchPolicy): boolean {
    if (policy.clientTimeoutMs <= 0 || performance.now() - job.arrivedAt <= policy.clientTimeoutMs) return false;
    this.droppedExpired++;
    job.fail(new ServiceUnavailableException(`Request waited more than clientTimeoutInMills (${policy.clientTimeoutMs} ms) in the queue`));
    return true;
  }

  private takeLive(policy: BatchPolicy): Job | null {
    for (let job = this.jobs.shift(); job; job = this.jobs.shift()) {
      if (!this.skip(job, policy)) return job;
    }
    return null;
  }

  /** Waits up to `timeoutMs` for a job that is still wanted; null on timeout or abort. */
  private poll(timeoutMs: number, signal: AbortSignal, policy: BatchPolicy): Promise<Job | null> {
    const ready = this.takeLive(policy);
    if (ready || timeoutMs <= 0 || signal.aborted) return Promise.resolve(ready);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = performance.now() + timeoutMs;
      const done: Waiter = (job) => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        if (job && this.skip(job, policy)) {
          // A job handed over directly can have been cancelled already: skip it and keep waiting.
          void this.poll(deadline - performance.now(), signal, policy).then(resolve);
          return;
        }
        resolve(job);
      };
      const onAbort = (): void => done(null);
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => done(null), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(done);
    });
  }
}
