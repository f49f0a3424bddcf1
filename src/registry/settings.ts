/**
 * The serving settings of a model version, resolved with TorchServe's priority (spec §2.1, §6.2):
 * register parameters > model-config.yaml > config.properties `models` > server defaults.
 */
import { availableParallelism } from 'node:os';
import { toInt } from '../archive/model-config.js';
import type { ModelConfig } from '../archive/types.js';
import { limitProblem, nameLengthProblem, type LimitCaps, type LimitName } from '../config/limits.js';
import type { ModelsJsonEntry, ServerConfig } from '../config/types.js';
import { BadRequestException, IndexOutOfBoundsException, InvalidModelException } from '../errors.js';
import { defaultWorkerExternalMb, defaultWorkerHeapMb, heapMb } from '../workers/heap-limit.js';

/** Register parameters after parsing; undefined means "not given" (TorchServe's sentinels). */
export interface RegisterParams {
  /** Absent: "Parameter url is required." (400); empty: a model-store lookup (404), as in TorchServe. */
  url?: string;
  modelName?: string;
  handler?: string;
  runtime?: string;
  batchSize?: number;
  maxBatchDelay?: number;
  initialWorkers?: number;
  synchronous: boolean;
  responseTimeout?: number;
  startupTimeout?: number;
  /** Set for models loaded by `load_models` / `--models` / a snapshot. */
  loadedAtStartup?: boolean;
}

export interface VersionSettings {
  batchSize: number;
  maxBatchDelay: number;
  minWorkers: number;
  maxWorkers: number;
  responseTimeout: number;
  startupTimeout: number;
  maxRetryTimeoutInSec: number;
  clientTimeoutInMills: number;
  jobQueueSize: number;
  useJobTicket: boolean;
  /** ortserve: cap on estimated padded tokens per batch (adaptive scheduler). */
  maxBatchTokens: number;
  /** ortserve: the most tokens one request can cost, from the handler's `max_length` (default 512). */
  maxSequenceTokens: number;
  /**
   * ortserve: V8 old-generation bound of each worker thread in MB (0 = V8's own limit). model-config.yaml
   * `maxWorkerHeapMb`, else ORTSERVE_MAX_WORKER_HEAP_MB, else ¼ of the RAM within [256, 2048].
   */
  maxWorkerHeapMb: number;
  /**
   * ortserve: bound of each worker thread's Buffers and other external memory in MB (0 = none).
   * model-config.yaml `maxWorkerExternalMb`, else ORTSERVE_MAX_WORKER_EXTERNAL_MB, else as the heap's.
   */
  maxWorkerExternalMb: number;
  /**
   * ortserve: the version's workers share one copy of the weights (an ORT-format file, memory-mapped).
   * model-config.yaml `sharedWeights`, default true (issue 16; docs/benchmarks.md has the measurements).
   */
  sharedWeights: boolean;
  /**
   * ortserve `workers=auto`: no worker count (`initial_workers`, `minWorkers`, a `models` entry,
   * `default_workers_per_model`) nor `intra_op_threads` was given, so the server measures the layout.
   */
  autoLayout: boolean;
}

const positive = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);

/** Workers a startup model gets when nothing says otherwise: one worker using every core (issue 3 measures why). */
export function defaultStartupWorkers(config: ServerConfig): number {
  return config.defaultWorkersPerModel > 0 ? config.defaultWorkersPerModel : 1;
}

export function resolveSettings(
  params: RegisterParams,
  yaml: ModelConfig,
  hasConfigFile: boolean,
  fromModelsJson: ModelsJsonEntry | undefined,
  config: ServerConfig,
): VersionSettings {
  const json = fromModelsJson ?? {};
  let minWorkers: number;
  let maxWorkers: number;
  const yamlMin = yaml.minWorkers ?? 0;
  const yamlMax = yaml.maxWorkers ?? 0;
  if (params.initialWorkers !== undefined) {
    minWorkers = maxWorkers = Math.max(0, params.initialWorkers);
  } else if (yamlMin > 0 && yamlMax >= yamlMin) {
    minWorkers = yamlMin;
    maxWorkers = yamlMax;
  } else if (positive(json.minWorkers) !== undefined) {
    minWorkers = json.minWorkers!;
    maxWorkers = Math.max(minWorkers, json.maxWorkers ?? minWorkers);
  } else {
    minWorkers = maxWorkers = params.loadedAtStartup ? defaultStartupWorkers(config) : config.defaultWorkersPerModel;
  }
  const autoLayout = params.initialWorkers === undefined && yamlMin <= 0 && positive(json.minWorkers) === undefined &&
    config.defaultWorkersPerModel <= 0 && config.intraOpThreads <= 0 && minWorkers > 0;
  // A MAR with a config file: its timeouts (default 120 s) always win over the register parameters.
  const responseTimeout = hasConfigFile
    ? (positive(yaml.responseTimeout) ?? 120)
    : (positive(params.responseTimeout) ?? positive(json.responseTimeout) ?? config.defaultResponseTimeoutSec);
  const startupTimeout = hasConfigFile
    ? (positive(yaml.startupTimeout) ?? 120)
    : (nonNegative(params.startupTimeout) ?? positive(json.startupTimeout) ?? config.defaultStartupTimeoutSec);
  return {
    batchSize: positive(params.batchSize) ?? positive(yaml.batchSize) ?? positive(json.batchSize) ?? 1,
    maxBatchDelay: nonNegative(params.maxBatchDelay) ?? nonNegative(yaml.maxBatchDelay) ?? positive(json.maxBatchDelay) ?? 100,
    minWorkers,
    maxWorkers,
    responseTimeout,
    startupTimeout,
    maxRetryTimeoutInSec: positive(yaml.maxRetryTimeoutInSec) ?? 300,
    clientTimeoutInMills: positive(yaml.clientTimeoutInMills) ?? 0,
    jobQueueSize: positive(yaml.jobQueueSize) ?? config.jobQueueSize,
    useJobTicket: yaml.useJobTicket ?? false,
    maxBatchTokens: positive(yaml.maxBatchTokens) ?? config.maxBatchTokens,
    maxSequenceTokens: handlerMaxLength(yaml.raw) ?? 512,
    maxWorkerHeapMb: heapMb(yaml.raw.maxWorkerHeapMb) ?? defaultWorkerHeapMb(),
    maxWorkerExternalMb: heapMb(yaml.raw.maxWorkerExternalMb) ?? defaultWorkerExternalMb(),
    sharedWeights: yamlBoolean(yaml.raw.sharedWeights) ?? true,
    autoLayout,
  };
}

/** `handler: {max_length: N}` in model-config.yaml (TorchServe's Hugging Face handler setting). */
function handlerMaxLength(raw: Record<string, unknown>): number | undefined {
  const handler = raw.handler;
  if (typeof handler !== 'object' || handler === null) return undefined;
  const n = Number((handler as Record<string, unknown>).max_length);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** A YAML boolean, also written as a string ("true" / "false"); anything else is "not given". */
function yamlBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  return undefined;
}

function nonNegative(n: number | undefined): number | undefined {
  return n !== undefined && n >= 0 ? n : undefined;
}

/**
 * ONNX Runtime intra-op threads for each worker of a version with `workers` workers: the configured
 * `intra_op_threads`, else the cores shared among the workers, so workers × threads ≤ cores.
 */
export function threadsPerWorker(config: ServerConfig, workers: number): number {
  if (config.intraOpThreads > 0) return config.intraOpThreads;
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, workers)));
}

type IntParam = 'initialWorkers' | 'batchSize' | 'maxBatchDelay' | 'responseTimeout' | 'startupTimeout';

/** The bounded register parameters, as REST and gRPC name them. */
const PARAM_LIMITS: ReadonlyArray<readonly [IntParam, string, LimitName]> = [
  ['initialWorkers', 'initial_workers', 'workers'],
  ['batchSize', 'batch_size', 'batchSize'],
  ['maxBatchDelay', 'max_batch_delay', 'delayMs'],
  ['responseTimeout', 'response_timeout', 'timeoutSec'],
  ['startupTimeout', 'startup_timeout', 'timeoutSec'],
];

/** The bounded model-config.yaml keys (the typed view drops bad values with a warning; these refuse the model). */
const YAML_LIMITS: ReadonlyArray<readonly [string, LimitName]> = [
  ['minWorkers', 'workers'],
  ['maxWorkers', 'workers'],
  ['batchSize', 'batchSize'],
  ['maxBatchDelay', 'delayMs'],
  ['responseTimeout', 'timeoutSec'],
  ['startupTimeout', 'timeoutSec'],
  ['maxRetryTimeoutInSec', 'timeoutSec'],
  ['clientTimeoutInMills', 'timeoutMs'],
  ['jobQueueSize', 'queueSize'],
  ['maxBatchTokens', 'count'],
];

/** The bounded fields of a config.properties `models` entry (and of a snapshot's versions). */
type ModelStateField = 'minWorkers' | 'maxWorkers' | 'batchSize' | 'maxBatchDelay' | 'responseTimeout' | 'startupTimeout';

export const MODEL_STATE_LIMITS: ReadonlyArray<readonly [ModelStateField, LimitName]> = [
  ['minWorkers', 'workers'],
  ['maxWorkers', 'workers'],
  ['batchSize', 'batchSize'],
  ['maxBatchDelay', 'delayMs'],
  ['responseTimeout', 'timeoutSec'],
  ['startupTimeout', 'timeoutSec'],
];

/**
 * A register parameter after TorchServe's "not given" values: -1 (its default for every integer
 * parameter) and `alsoUnset` (-100 for max_batch_delay) mean "use the next source". Any other negative
 * number is refused (TorchServe would store it and fail later).
 */
export function registerInt(n: number | undefined, label: string, alsoUnset?: number): number | undefined {
  if (n === undefined || n === -1 || n === alsoUnset) return undefined;
  if (n < 0) throw new BadRequestException(`${label} must not be negative (-1 means the default), not ${n}`);
  return n;
}

/** Refuses register parameters out of their limits, before anything is opened or started. */
export function checkRegisterParams(p: RegisterParams, caps: LimitCaps): void {
  const nameProblem = p.modelName === undefined ? null : nameLengthProblem('model_name', p.modelName);
  if (nameProblem !== null) throw new BadRequestException(nameProblem);
  for (const [key, label, limit] of PARAM_LIMITS) {
    const problem = p[key] === undefined ? null : limitProblem(limit, label, p[key], caps);
    if (problem !== null) throw new BadRequestException(problem);
  }
}

/**
 * Refuses a scale request (already checked for max_worker < min_worker) out of limits. A negative
 * max_worker crashes TorchServe's WorkLoadManager after it stopped every worker; its API tests expect
 * that 500, so it is kept, without touching a worker.
 */
export function checkScale(min: number, max: number, caps: LimitCaps): void {
  if (max < 0) throw new IndexOutOfBoundsException('Index -1 out of bounds for length 0');
  const problem = limitProblem('workers', 'min_worker', min, caps) ?? limitProblem('workers', 'max_worker', max, caps);
  if (problem !== null) throw new BadRequestException(problem);
}

/** Refuses a model whose model-config.yaml or `models` entry holds a bounded setting out of its limits. */
export function checkModelSources(yaml: ModelConfig, json: ModelsJsonEntry | undefined, where: string, caps: LimitCaps): void {
  for (const [key, limit] of YAML_LIMITS) {
    if (!Object.hasOwn(yaml.raw, key)) continue;
    const problem = limitProblem(limit, key, toInt(yaml.raw[key]) ?? yaml.raw[key], caps);
    if (problem !== null) throw new InvalidModelException(`model-config.yaml of ${where}: ${problem}`);
  }
  for (const [key, limit] of MODEL_STATE_LIMITS) {
    const problem = json?.[key] === undefined ? null : limitProblem(limit, key, json[key], caps);
    if (problem !== null) throw new InvalidModelException(`config.properties "models", ${where}: ${problem}`);
  }
}
