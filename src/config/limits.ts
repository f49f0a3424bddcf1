/**
 * The bounds of every model serving setting that a client, an archive or a file can set: worker counts,
 * batch sizes, delays, timeouts, queue sizes, and the length of names and versions. Each limit is
 * declared once here, with its unit and its cap; every place a setting enters (REST and gRPC management,
 * model-config.yaml, config.properties and its `models` JSON, snapshots, workflow specifications) checks
 * it against this table, so that one call cannot freeze the server (a billion workers), overflow a timer
 * or inflate `/metrics` and snapshots.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from './errors.js';
import type { ServerConfig } from './types.js';

/**
 * Node's timers hold a signed 32-bit number of milliseconds: a longer delay fires after 1 ms (with a
 * TimeoutOverflowWarning), which would turn a long response timeout into "Worker died." on every call.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The largest Java int: TorchServe reads queue sizes and counts into one. */
const INT32_MAX = 2 ** 31 - 1;

/** The longest timeout in seconds whose milliseconds still fit a timer: 2147483 s (24.8 days). */
export const MAX_TIMER_SEC = Math.floor(MAX_TIMER_MS / 1000);

/**
 * Model names, versions and workflow names become URL segments, metric labels, snapshot keys and log
 * fields; 256 characters is far beyond any real name and keeps one registration from inflating them all.
 */
export const MAX_NAME_LENGTH = 256;

/** `max_workers_per_model=0` (the default) means this many workers per core. */
export const WORKERS_PER_CORE_CAP = 4;

/** The two caps the operator sets in config.properties. */
export interface LimitCaps {
  /** `max_workers_per_model`: the most workers one model version may have. */
  maxWorkersPerModel: number;
  /** `max_batch_size`: the largest batch_size a model version may have. */
  maxBatchSize: number;
}

/** Resolves `max_workers_per_model`: 0 is automatic, WORKERS_PER_CORE_CAP × the cores. */
export function workersCap(configured: number): number {
  return configured > 0 ? configured : WORKERS_PER_CORE_CAP * availableParallelism();
}

export type LimitName = 'workers' | 'batchSize' | 'delayMs' | 'timeoutSec' | 'timeoutMs' | 'queueSize' | 'count';

interface Limit {
  /** What the number counts, as messages print it. */
  readonly unit: string;
  readonly min: number;
  /** The cap, and the setting that sets it when the operator can. */
  readonly max: (caps: LimitCaps) => { value: number; setBy?: string };
}

const fixed = (value: number) => (): { value: number } => ({ value });

export const LIMITS: Readonly<Record<LimitName, Limit>> = {
  workers: { unit: 'workers', min: 0, max: (c) => ({ value: c.maxWorkersPerModel, setBy: 'max_workers_per_model' }) },
  batchSize: { unit: 'requests', min: 1, max: (c) => ({ value: c.maxBatchSize, setBy: 'max_batch_size' }) },
  delayMs: { unit: 'ms', min: 0, max: fixed(MAX_TIMER_MS) },
  timeoutSec: { unit: 's', min: 0, max: fixed(MAX_TIMER_SEC) },
  timeoutMs: { unit: 'ms', min: 0, max: fixed(MAX_TIMER_MS) },
  /** Job queues and token budgets: a Java int, as TorchServe reads them. */
  queueSize: { unit: 'jobs', min: 1, max: fixed(INT32_MAX) },
  count: { unit: '', min: 1, max: fixed(INT32_MAX) },
};

/**
 * Why `value` is not a valid `label` (a setting of kind `limit`), or null when it is. `label` is the
 * setting as the caller's source spells it (`min_worker`, `minWorkers`, `models.min-workers` …).
 */
export function limitProblem(limit: LimitName, label: string, value: unknown, caps: LimitCaps): string | null {
  const { unit, min, max } = LIMITS[limit];
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  if (typeof value !== 'number' || !Number.isInteger(value)) return `${label} must be an integer, not ${shown.slice(0, 40)}`;
  const cap = max(caps);
  const units = unit ? ` ${unit}` : '';
  if (value < min) return `${label} must be at least ${min}, not ${value}`;
  if (value > cap.value) {
    const why = cap.setBy ? `the cap set by ${cap.setBy}` : unit === 's' || unit === 'ms' ? "the longest time Node's timers can wait" : 'the largest value allowed';
    return `${label}=${value} exceeds ${cap.value}${units}, ${why}`;
  }
  return null;
}

/** Why a model name, model version or workflow name is too long, or null. */
export function nameLengthProblem(what: string, name: string): string | null {
  return name.length > MAX_NAME_LENGTH ? `${what} is ${name.length} characters long; at most ${MAX_NAME_LENGTH} are allowed` : null;
}

/** The server-wide settings of config.properties that the limits bound. */
export type ServingLimits = Pick<
  ServerConfig,
  | 'maxWorkersPerModel'
  | 'maxBatchSize'
  | 'defaultWorkersPerModel'
  | 'jobQueueSize'
  | 'defaultResponseTimeoutSec'
  | 'defaultStartupTimeoutSec'
  | 'unregisterModelTimeoutSec'
  | 'maxBatchTokens'
  | 'metricTimeIntervalSec'
>;

/**
 * Reads the bounded config.properties keys with `int` (which parses a key or throws ConfigError): the
 * caps first, then every server-wide default against them. Out of bounds stops the server, as a bad
 * integer does.
 */
export function servingLimits(int: (key: string) => number): ServingLimits {
  const bounded = (key: string, limit: LimitName, caps: LimitCaps): number => {
    const n = int(key);
    const problem = limitProblem(limit, key, n, caps);
    if (problem !== null) throw new ConfigError(problem);
    return n;
  };
  const unbounded: LimitCaps = { maxWorkersPerModel: Number.MAX_SAFE_INTEGER, maxBatchSize: Number.MAX_SAFE_INTEGER };
  const caps: LimitCaps = {
    maxWorkersPerModel: workersCap(bounded('max_workers_per_model', 'workers', unbounded)),
    maxBatchSize: bounded('max_batch_size', 'batchSize', unbounded),
  };
  return {
    ...caps,
    defaultWorkersPerModel: bounded('default_workers_per_model', 'workers', caps),
    jobQueueSize: bounded('job_queue_size', 'queueSize', caps),
    defaultResponseTimeoutSec: bounded('default_response_timeout', 'timeoutSec', caps),
    defaultStartupTimeoutSec: bounded('default_startup_timeout', 'timeoutSec', caps),
    unregisterModelTimeoutSec: bounded('unregister_model_timeout', 'timeoutSec', caps),
    maxBatchTokens: bounded('max_batch_tokens', 'count', caps),
    metricTimeIntervalSec: bounded('metric_time_interval', 'timeoutSec', caps),
  };
}
