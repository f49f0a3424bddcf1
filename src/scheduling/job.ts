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
  private settle!: (o: JobOutcome) => void;
  private settled = false;

  constructor(request: WireRequest, cost = 1, arrivedAt = performance.now()) {
    this.request = request;
    this.cost = cost;
    this.arrivedAt = arrivedAt;
    this.outcome = new Promise((resolve) => (this.settle = resolve));
  }

  get isSettled(): boolean {
    return this.settled;
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
    this.settle(o);
  }
}
