/**
 * The process-wide memory guard (config `max_process_rss_mb`). Every model version shares one process:
 * when the machine runs out of memory the kernel's OOM killer ends it, and every model with it. So new
 * predictions are refused with 503 while the resident set is over the bound, and accepted again once
 * it falls (a worker restarted by its own bound, a model unregistered, memory given back). Work already
 * queued or running goes on.
 */
import { ServiceUnavailableException } from '../errors.js';

const MB = 1024 * 1024;
/** The resident set is read at most this often (a read is a system call; predictions come by thousands). */
const SAMPLE_MS = 100;

export class MemoryGuard {
  private sampledAt = Number.NEGATIVE_INFINITY;
  private rssMb = 0;

  /** `limitMb` 0: no guard. `rss` is the process's resident set in bytes (tests may give their own). */
  constructor(
    readonly limitMb: number,
    private readonly rss: () => number = () => process.memoryUsage.rss(),
  ) {}

  /** True when the resident set (sampled at most every SAMPLE_MS) is over the bound. */
  over(): boolean {
    if (this.limitMb <= 0) return false;
    const now = performance.now();
    if (now - this.sampledAt >= SAMPLE_MS) {
      this.rssMb = this.rss() / MB;
      this.sampledAt = now;
    }
    return this.rssMb > this.limitMb;
  }

  /** The 503 a refused prediction gets. */
  refusal(): ServiceUnavailableException {
    return new ServiceUnavailableException(
      `The server is short of memory (resident set ${Math.round(this.rssMb)} MB, max_process_rss_mb ${this.limitMb} MB); try again later.`,
    );
  }
}
