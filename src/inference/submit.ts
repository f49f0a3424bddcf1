/**
 * One prediction through a model version's queue, whatever the transport (REST, gRPC, KServe, workflows):
 * the job is built, counted by the metrics, rejected at once when the version cannot take it (TorchServe's
 * 503s), and its outcome returned. The caller sends the answer and says when its client went away.
 */
import { ServiceUnavailableException } from '../errors.js';
import type { ServerMetrics } from '../metrics/hooks.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { estimateTokens } from '../scheduling/batch-selection.js';
import type { MemoryGuard } from '../scheduling/memory-guard.js';
import { Job, type JobOutcome } from '../scheduling/job.js';
import type { WireRequest } from '../workers/messages.js';

export interface Submission {
  /** The job, already queued: set `job.cancelled` when the client goes away before its turn. */
  job: Job;
  outcome: Promise<JobOutcome>;
  /** Tell the metrics how the exchange ended: the status sent, or null when the client went away. */
  finished(status: number | null): void;
}

/**
 * Queues `request` for `model` (`version` null: the default version). Throws TorchServe's errors: the
 * registry's 404s, and 503 when the version has no worker, its queue is full, `useJobTicket` finds no
 * idle worker, or the process is over max_process_rss_mb.
 */
export function submitPrediction(
  deps: { manager: { registry: ModelRegistry; memoryGuard: MemoryGuard }; metrics: ServerMetrics },
  model: string,
  version: string | null,
  request: WireRequest,
): Submission {
  const mv = deps.manager.registry.get(model, version);
  const bytes = request.parameters.reduce((n, p) => n + p.value.byteLength, 0);
  const job = new Job(request, estimateTokens(bytes, mv.settings.maxSequenceTokens));
  const finished = deps.metrics.prediction(mv.name, mv.version, version, job);
  try {
    if (deps.manager.memoryGuard.over()) {
      deps.metrics.rejected(mv.name, mv.version, 'memory');
      throw deps.manager.memoryGuard.refusal();
    }
    if (mv.settings.useJobTicket && !mv.workerList.some((w) => w.state === 'ready' && !w.busy)) {
      deps.metrics.rejected(mv.name, mv.version, 'job_ticket');
      throw new ServiceUnavailableException(`Model "${mv.name}" has no worker to serve inference request. Please use scale workers API to add workers.`);
    }
    try {
      mv.submit(job, version !== null);
    } catch (err) {
      deps.metrics.rejected(mv.name, mv.version, mv.workerList.length === 0 ? 'no_worker' : 'queue_full');
      throw err;
    }
  } catch (err) {
    finished(503);
    throw err;
  }
  return { job, outcome: job.outcome, finished };
}
