/**
 * The job queue of one model version: a bounded FIFO that idle workers pull batches from
 * (TorchServe's `Model.pollBatch`, spec §8). A worker blocks until a first job arrives, then collects
 * up to `batchSize - 1` more within `maxBatchDelayMs` measured from when it took the first one.
 */
import { Job } from './job.js';

export interface BatchPolicy {
  batchSize: number;
  maxBatchDelayMs: number;
}

type Waiter = (job: Job | null) => void;

export class JobQueue {
  private jobs: Job[] = [];
  private waiters: Waiter[] = [];
  /** Jobs skipped because their client had gone; read by metrics. */
  droppedCancelled = 0;

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
    const first = await this.poll(Infinity, signal);
    if (!first) return [];
    const batch = [first];
    const deadline = performance.now() + policy.maxBatchDelayMs;
    while (batch.length < policy.batchSize) {
      const job = this.takeLive() ?? (await this.poll(deadline - performance.now(), signal));
      if (!job) break;
      batch.push(job);
    }
    return batch;
  }

  /** Removes every queued job (unregister); the caller fails them. */
  drain(): Job[] {
    const jobs = this.jobs;
    this.jobs = [];
    return jobs;
  }

  private takeLive(): Job | null {
    for (let job = this.jobs.shift(); job; job = this.jobs.shift()) {
      if (!job.cancelled) return job;
      this.droppedCancelled++;
    }
    return null;
  }

  /** Waits up to `timeoutMs` for a live job; null on timeout or abort. */
  private poll(timeoutMs: number, signal: AbortSignal): Promise<Job | null> {
    const ready = this.takeLive();
    if (ready || timeoutMs <= 0 || signal.aborted) return Promise.resolve(ready);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done: Waiter = (job) => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        if (job?.cancelled) {
          // A job handed over directly can have been cancelled already: skip it and keep waiting.
          this.droppedCancelled++;
          void this.poll(deadline - performance.now(), signal).then(resolve);
          return;
        }
        resolve(job);
      };
      const waiter: Waiter = (job) => done(job);
      const onAbort = (): void => done(null);
      const deadline = performance.now() + timeoutMs;
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => done(null), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}
