import type { ServeError } from '../errors.js';
import type { WireRequest, WireResponse } from '../workers/messages.js';

export type JobOutcome = { ok: true; response: WireResponse } | { ok: false; error: ServeError };

/** One inference request waiting for, or going through, a worker. Settles exactly once. */
export class Job {
  readonly request: WireRequest;
  /** performance.now() when the job was accepted. */
  readonly arrivedAt: number;
  /** performance.now() when a worker took it in a batch, or null while queued. */
  scheduledAt: number | null = null;
  /** Set when the HTTP client went away before an answer: the job is skipped if still queued. */
  cancelled = false;
  /** Estimated padded-token cost (see batch-selection.ts); 1 when unknown. */
  readonly cost: number;
  /** Batches formed while this job waited without being chosen. */
  passes = 0;
  readonly outcome: Promise<JobOutcome>;
  /** How many intermediate parts (streaming, spec §1.6) were delivered so far; 0: not streaming. */
  intermediateCount = 0;
  private settle!: (o: JobOutcome) => void;
  private settled = false;
  private intermediateListeners: Array<(response: WireResponse) => void> = [];
  /** Parts delivered before any listener was registered, replayed to the first one; dropped on settle. */
  private unheard: WireResponse[] = [];

  constructor(request: WireRequest, cost = 1, arrivedAt = performance.now()) {
    this.request = request;
    this.cost = cost;
    this.arrivedAt = arrivedAt;
    this.outcome = new Promise((resolve) => (this.settle = resolve));
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /**
   * Streaming (spec §1.6): `cb` gets every intermediate part of this job, in order, before the outcome
   * settles. Parts that arrived before the first listener are replayed to it, so registering right
   * after submitting is always in time. The outcome stays the final part (or the failure, which may
   * come after some parts: the transport then ends its stream).
   */
  onIntermediate(cb: (response: WireResponse) => void): void {
    this.intermediateListeners.push(cb);
    if (this.intermediateListeners.length === 1 && this.unheard.length > 0) {
      const parts = this.unheard;
      this.unheard = [];
      for (const p of parts) {
        try {
          cb(p);
        } catch (err) {
          console.error(`[job ${this.request.requestId}] intermediate listener failed:`, err);
        }
      }
    }
  }

  /** An intermediate part from the worker (ignored once the job settled). */
  intermediate(response: WireResponse): void {
    if (this.settled) return;
    this.intermediateCount++;
    if (this.intermediateListeners.length === 0) {
      this.unheard.push(response);
      return;
    }
    for (const cb of this.intermediateListeners) {
      try {
        cb(response);
      } catch (err) {
        console.error(`[job ${this.request.requestId}] intermediate listener failed:`, err);
      }
    }
  }

  complete(response: WireResponse): void {
    this.finish({ ok: true, response });
  }

  fail(error: ServeError): void {
    this.finish({ ok: false, error });
  }

  private finish(o: JobOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.unheard = [];
    this.settle(o);
  }
}
