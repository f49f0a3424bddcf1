/**
 * The V8 heap bound of each worker thread (`resourceLimits.maxOldGenerationSizeMb`). Without it a
 * handler that leaks grows until V8's own limit for the machine (several GB), and several leaking
 * workers can exhaust the host. With it the thread dies with ERR_WORKER_OUT_OF_MEMORY, its batch
 * gets 507 and the worker is restarted like any other dead worker; the server process lives on.
 *
 * The bound covers JavaScript objects, not ONNX Runtime's tensors and weights (native memory) nor
 * Buffers' contents. Order of precedence: model-config.yaml `maxWorkerHeapMb`, then the environment
 * variable ORTSERVE_MAX_WORKER_HEAP_MB, then a quarter of the machine's memory, between 256 and
 * 2048 MB. 0 (in either place) means no bound beyond V8's own.
 *
 * Buffers, typed arrays and other memory V8 is told about (its isolate's `external_memory`: every
 * ArrayBuffer's bytes, ONNX Runtime's output tensors once in JavaScript) have their own bound, measured
 * inside the thread (worker-main.ts): model-config.yaml `maxWorkerExternalMb`, then
 * ORTSERVE_MAX_WORKER_EXTERNAL_MB, then the same default. Over it the batch gets the same 507 and the
 * thread is restarted. What ONNX Runtime allocates natively for a session (weights, arenas) is in
 * neither; the process-wide RSS guard (max_process_rss_mb) covers it.
 */
import { totalmem } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';

export const HEAP_ENV = 'ORTSERVE_MAX_WORKER_HEAP_MB';
export const EXTERNAL_ENV = 'ORTSERVE_MAX_WORKER_EXTERNAL_MB';
const MB = 1024 * 1024;

/** A non-negative integer, or undefined for anything else (missing, negative, not a number). */
export function heapMb(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** ¼ of the RAM clamped to [256, 2048] MB. */
function quarterOfRamMb(): number {
  return Math.min(2048, Math.max(256, Math.floor(totalmem() / MB / 4)));
}

/** The server-wide default: ORTSERVE_MAX_WORKER_HEAP_MB, else ¼ of the RAM clamped to [256, 2048] MB. */
export function defaultWorkerHeapMb(env: NodeJS.ProcessEnv = process.env): number {
  return heapMb(env[HEAP_ENV]) ?? quarterOfRamMb();
}

/** The server-wide default of the external-memory bound: ORTSERVE_MAX_WORKER_EXTERNAL_MB, else as the heap's. */
export function defaultWorkerExternalMb(env: NodeJS.ProcessEnv = process.env): number {
  return heapMb(env[EXTERNAL_ENV]) ?? quarterOfRamMb();
}

/**
 * The young generation is bounded too, at 48 MB: what V8 gives a worker on Node 20 (3 semi-spaces of
 * 16 MB; `heap_size_limit` = old generation + 48 MB there). Node 24's V8 sizes it at 192 MB when left
 * unset, so a worker bounded at 64 MB could hold 256 MB of heap: measured with `getHeapStatistics()` in a
 * worker thread on Node 20.20 and 24.22, which report 112 and 256 MB without this bound and 112 MB
 * with it on both.
 */
const YOUNG_GENERATION_MB = 48;

/** The `resourceLimits` of a worker thread whose heap is bounded at `heapMb` (> 0). */
export function workerResourceLimits(heapMb: number): ResourceLimits {
  return { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
}
