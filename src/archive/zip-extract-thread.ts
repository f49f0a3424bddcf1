/**
 * Runs a zip extraction in a worker thread. adm-zip reads the whole archive into memory and inflates
 * and checks it synchronously: for a model-sized `.mar` that is seconds of blocked event loop, and the
 * HTTP thread must keep serving other models meanwhile.
 */
import { Worker } from 'node:worker_threads';
import { ArchiveError } from './extract-guard.js';
import type { ExtractLimits } from './types.js';

export interface ZipJob {
  file: string;
  dest: string;
  limits: ExtractLimits;
}

export type ZipOutcome = { ok: true } | { ok: false; archiveError: boolean; message: string };

const ENTRY = new URL('./zip-extract-entry.js', import.meta.url);

/** Extracts in a fresh worker thread; archive problems come back as ArchiveError, others as Error. */
export function extractZipOffThread(file: string, dest: string, limits: ExtractLimits): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(ENTRY, { workerData: { file, dest, limits } satisfies ZipJob });
    let settled = false;
    worker.once('message', (o: ZipOutcome) => {
      settled = true;
      if (o.ok) resolve();
      else reject(o.archiveError ? new ArchiveError(o.message) : new Error(o.message));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`zip extraction thread exited with code ${code}`));
    });
  });
}
