/**
 * Rows of the report's server-run tables: the settings a server ran with, and what one load window
 * measured. Shared by the sweep table, the other-runs table and the target verdicts.
 */
import { fmt } from './lib/stats.js';
import type { ServerConfigDesc, ServerRun } from './scenario.js';

/** Milliseconds as the report prints them (one decimal). */
export const ms = (v: number): string => fmt(v, 1);

const DTYPE: Record<ServerConfigDesc['model'], string> = { 'base-fp32': 'fp32', 'base-int8': 'int8', tiny: 'fp32', taxonomy: 'int8 weights' };

function settingsOf(d: ServerConfigDesc): string[] {
  return [
    d.model === 'base-fp32' || d.model === 'base-int8' ? 'base' : d.model,
    DTYPE[d.model],
    d.scheduler,
    String(d.batchSize),
    String(d.maxBatchDelay),
    d.maxBatchTokens === null ? 'default' : String(d.maxBatchTokens),
    `${d.workers} × ${d.threads}`,
  ];
}

const SETTINGS_HEADER = ['model', 'dtype', 'scheduler', 'batch_size', 'max_batch_delay', 'max_batch_tokens', 'workers × threads'];

/** One server run as a table row, under `RUN_HEADER`. */
export function runRow(r: ServerRun): string[] {
  const errors = Object.entries(r.load.errors).map(([k, v]) => `${k}: ${v}`).join(', ') || '0';
  return [
    ...settingsOf(r.desc),
    String(r.concurrency),
    r.window,
    fmt(r.load.requestsPerSec, 1),
    ms(r.load.latency.p50),
    ms(r.load.latency.p90),
    ms(r.load.latency.p99),
    r.meanBatch === null ? 'n/a' : fmt(r.meanBatch, 2),
    errors,
    fmt(r.serverCpu, 2),
    fmt(r.load.loadGenCpu, 2),
    fmt(r.otherCpu, 2),
    fmt(r.rssMaxMiB, 0),
  ];
}

/** Header of `runRow`. */
export const RUN_HEADER = [...SETTINGS_HEADER, 'conc.', 'window', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'mean batch', 'errors', 'server CPU', 'loadgen CPU', 'other CPU', 'RSS MiB'];
