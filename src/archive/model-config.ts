/**
 * model-config.yaml (the manifest's `configFile`, spec §6.2): the frontend keys, typed, plus the whole
 * document for the handler.
 *
 * Coercion follows TorchServe's `ModelConfig.build`: a key whose value has the wrong type or is out of
 * range is ignored (with a warning), never an error. Differences: numeric and boolean strings ("4",
 * "true") are accepted, where SnakeYAML's typed values would have been required; and an unparseable
 * file is a 400, where TorchServe logs the error and serves the model without its config.
 */
import { promises as fs } from 'node:fs';
import { parseDocument } from 'yaml';
import { InvalidModelException } from '../errors.js';
import { MANIFEST_PATH, resolveArchiveFile } from './manifest.js';
import type { Manifest, ModelConfig } from './types.js';

type IntRule = 'positive' | 'nonNegative';

const INT_KEYS: ReadonlyArray<readonly [keyof ModelConfig, IntRule]> = [
  ['minWorkers', 'nonNegative'],
  ['maxWorkers', 'nonNegative'],
  ['batchSize', 'positive'],
  ['maxBatchDelay', 'nonNegative'],
  ['responseTimeout', 'positive'],
  ['startupTimeout', 'positive'],
  ['maxRetryTimeoutInSec', 'positive'],
  ['clientTimeoutInMills', 'positive'],
  ['jobQueueSize', 'positive'],
  ['parallelLevel', 'positive'],
  ['maxBatchTokens', 'positive'],
  ['sequenceMaxIdleMSec', 'positive'],
  ['sequenceTimeoutMSec', 'positive'],
  ['maxSequenceJobQueueSize', 'positive'],
  ['maxNumSequence', 'positive'],
];

const BOOLEAN_KEYS: ReadonlyArray<keyof ModelConfig> = [
  'useJobTicket',
  'continuousBatching',
  'useVenv',
  'asyncCommunication',
  'sequenceBatching',
];

const DEVICE_TYPES: readonly string[] = ['cpu', 'gpu'];
const PARALLEL_TYPES: readonly string[] = ['pp', 'tp', 'pptp', 'custom'];

/** An integer as model-config.yaml may spell it (a number, or a string of digits), else undefined. */
export function toInt(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^[+-]?\d{1,15}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

function toBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** A value as a warning shows it: JSON when it has a JSON form, else its string form (never throws). */
function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? '[…]' : Object.prototype.toString.call(value);
  }
}

/**
 * True when the document refers to itself: YAML aliases can build cycles (`a: &x [*x]`). Such a value
 * cannot be serialized (warnings, JSON consumers in handlers), so a config holding one is refused.
 */
function isCyclic(value: unknown, ancestors: Set<object> = new Set(), done: Set<object> = new Set()): boolean {
  if (typeof value !== 'object' || value === null || done.has(value)) return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  const children = value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? [...value] : Object.values(value);
  const cyclic = children.some((child) => isCyclic(child, ancestors, done));
  ancestors.delete(value);
  done.add(value); // shared (aliased) nodes are walked once
  return cyclic;
}

/** A ModelConfig for an archive without a config file. */
export function emptyModelConfig(): ModelConfig {
  return { raw: {} };
}

/**
 * Builds the typed view of a parsed model-config.yaml document. Invalid values are skipped and reported
 * through `warnings` (TorchServe logs "Invalid <key>: <value>").
 */
export function buildModelConfig(raw: Record<string, unknown>, warnings: string[] = []): ModelConfig {
  const config: ModelConfig = { raw };
  const writable = config as unknown as Record<string, unknown>;
  const invalid = (key: string, value: unknown, expected: string): void => {
    warnings.push(`Invalid ${key}: ${shown(value)}, should be ${expected}`);
  };

  for (const [key, rule] of INT_KEYS) {
    if (!(key in raw)) continue;
    const value = toInt(raw[key]);
    const ok = value !== undefined && (rule === 'positive' ? value > 0 : value >= 0);
    if (ok) writable[key] = value;
    else invalid(key, raw[key], rule === 'positive' ? 'a positive integer' : 'a non-negative integer');
  }
  for (const key of BOOLEAN_KEYS) {
    if (!(key in raw)) continue;
    const value = toBool(raw[key]);
    if (value !== undefined) writable[key] = value;
    else invalid(key, raw[key], 'true or false');
  }
  if ('deviceType' in raw) {
    const value = typeof raw.deviceType === 'string' ? raw.deviceType.toLowerCase() : undefined;
    if (value !== undefined && DEVICE_TYPES.includes(value)) config.deviceType = value;
    else invalid('deviceType', raw.deviceType, 'cpu or gpu');
  }
  if ('parallelType' in raw) {
    const value = typeof raw.parallelType === 'string' ? raw.parallelType.toLowerCase() : undefined;
    if (value !== undefined && PARALLEL_TYPES.includes(value)) config.parallelType = value;
    else invalid('parallelType', raw.parallelType, 'pp, tp, pptp or custom');
  }
  if ('deviceIds' in raw) {
    const list = raw.deviceIds;
    const ids = Array.isArray(list) ? list.map(toInt) : undefined;
    if (ids !== undefined && ids.every((id): id is number => id !== undefined && id >= 0)) config.deviceIds = ids;
    else invalid('deviceIds', list, 'a list of integers');
  }
  // TorchServe derives parallelLevel from torchrun's nproc-per-node; an explicit key wins here.
  if (config.parallelLevel === undefined && isPlainObject(raw.torchrun)) {
    const nproc = toInt(raw.torchrun['nproc-per-node']);
    if (nproc !== undefined && nproc > 0) config.parallelLevel = nproc;
  }
  return config;
}

/**
 * Parses model-config.yaml text. YAML 1.1 is used because both readers in TorchServe (SnakeYAML in the
 * frontend, PyYAML in the backend) speak 1.1, so `yes`/`no`/`on`/`off` mean booleans as there.
 */
export function parseModelConfig(text: string, fileName: string, warnings: string[] = []): ModelConfig {
  let doc: unknown;
  try {
    // YAML.parse would print the document's warnings (unresolved tags …) on the process's stderr;
    // they are returned with the config's own warnings instead.
    const document = parseDocument(text, { version: '1.1', uniqueKeys: true, logLevel: 'error' });
    if (document.errors.length > 0) throw document.errors[0]!;
    for (const w of document.warnings) warnings.push(`${fileName}: ${w.message.split('\n')[0]}`);
    doc = document.toJS();
  } catch (err) {
    throw new InvalidModelException(`Failed to parse model config yaml file ${fileName}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return emptyModelConfig();
  if (!isPlainObject(doc)) {
    throw new InvalidModelException(`Failed to parse model config yaml file ${fileName}: the document must be a mapping.`);
  }
  if (isCyclic(doc)) {
    throw new InvalidModelException(`Failed to parse model config yaml file ${fileName}: an alias refers to a node that contains it.`);
  }
  return buildModelConfig(doc, warnings);
}

export interface ReadModelConfigResult {
  modelConfig: ModelConfig;
  hasConfigFile: boolean;
}

/**
 * Reads the manifest's `configFile` from the model directory. A config file the manifest names but the
 * archive lacks is refused (TorchServe would log it and silently drop the config).
 */
export async function readModelConfig(
  modelDir: string,
  manifest: Manifest,
  warnings: string[] = [],
): Promise<ReadModelConfigResult> {
  const name = manifest.model.configFile;
  if (name === undefined) return { modelConfig: emptyModelConfig(), hasConfigFile: false };
  const file = resolveArchiveFile(modelDir, name, 'Config file');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'is missing from the archive' : `cannot be read (${code ?? (err as Error).message})`;
    throw new InvalidModelException(`Config file "${name}" named in ${MANIFEST_PATH} ${reason}.`);
  }
  return { modelConfig: parseModelConfig(text, name, warnings), hasConfigFile: true };
}
