/** The JSON of `GET /models` and `GET /models/{m}[/{v}|/all]`, field for field as TorchServe (spec §2.3, §2.4). */
import type { ModelRegistry } from './model-registry.js';
import type { ModelVersion } from './model-version.js';

export interface WorkerDescription {
  id: string;
  startTime: string;
  status: 'READY' | 'UNLOADING';
  memoryUsage: number;
  pid: number;
  gpu: boolean;
  gpuUsage: string;
}

/** Gson's `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` in local time, the `Z` a literal, as TorchServe writes it. */
export function gsonDate(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}Z`
  );
}

export function describeVersion(v: ModelVersion, customizedMetadata?: unknown): Record<string, unknown> {
  const s = v.settings;
  const d: Record<string, unknown> = {
    modelName: v.name,
    modelVersion: v.version,
    modelUrl: v.url,
    runtime: v.runtime,
    minWorkers: s.minWorkers,
    maxWorkers: s.maxWorkers,
    batchSize: s.batchSize,
    maxBatchDelay: s.maxBatchDelay,
    responseTimeout: s.responseTimeout,
    startupTimeout: s.startupTimeout,
    maxRetryTimeoutInSec: s.maxRetryTimeoutInSec,
    clientTimeoutInMills: s.clientTimeoutInMills,
    parallelType: '',
    parallelLevel: 0,
    deviceType: 'cpu',
    continuousBatching: false,
    useJobTicket: s.useJobTicket,
    useVenv: false,
    stateful: false,
    sequenceMaxIdleMSec: 0,
    sequenceTimeoutMSec: 0,
    maxNumSequence: 0,
    maxSequenceJobQueueSize: 0,
    loadedAtStartup: v.loadedAtStartup,
    workers: v.workerList.map(
      (w): WorkerDescription => ({
        id: w.id,
        startTime: gsonDate(w.startTime),
        status: w.state === 'ready' ? 'READY' : 'UNLOADING',
        memoryUsage: 0,
        pid: process.pid,
        gpu: false,
        gpuUsage: 'N/A',
      }),
    ),
    jobQueueStatus: { remainingCapacity: v.queue.remainingCapacity, pendingRequests: v.queue.size },
    // ortserve (issue 16): the layout the version runs with, and why (a TorchServe client ignores the extra key).
    operatingPoint: v.operatingPoint,
    sharedWeights: s.sharedWeights,
    // ortserve's own: which archive file this version was loaded from.
    archiveSha256: v.archive.archiveSha256 ?? null,
  };
  if (customizedMetadata !== undefined) d.customizedMetadata = customizedMetadata;
  return d;
}

export interface ModelListPage {
  nextPageToken?: string;
  models: Array<{ modelName: string; modelUrl: string }>;
}

/** TorchServe's paging: `limit` 1..100 (else 100), token = offset; a token even on the exact last page. */
export function listModels(registry: ModelRegistry, limit: number, pageToken: number): ModelListPage {
  const names = registry.names();
  const lim = limit > 100 || limit < 0 ? 100 : limit;
  const start = pageToken < 0 ? 0 : pageToken;
  let last = start + lim;
  let next: string | undefined;
  if (last > names.length) last = names.length;
  else next = String(last);
  const models = names.slice(start, last).map((n) => ({ modelName: n, modelUrl: registry.get(n).url }));
  return next === undefined ? { models } : { nextPageToken: next, models };
}
