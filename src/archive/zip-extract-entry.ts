/** The worker thread of extractZipOffThread: extracts one zip and reports how it went. */
import { parentPort, workerData } from 'node:worker_threads';
import { ArchiveError } from './extract-guard.js';
import type { ZipJob, ZipOutcome } from './zip-extract-thread.js';
import { extractZip } from './zip-extract.js';

const job = workerData as ZipJob;
extractZip(job.file, job.dest, job.limits).then(
  () => parentPort?.postMessage({ ok: true } satisfies ZipOutcome),
  (err: unknown) =>
    parentPort?.postMessage({
      ok: false,
      archiveError: err instanceof ArchiveError,
      message: err instanceof Error ? err.message : String(err),
    } satisfies ZipOutcome),
);
