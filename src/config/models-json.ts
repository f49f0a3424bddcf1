/**
 * The `models` property: `{"<name>": {"<version>": {"minWorkers": 2, ...}}}` (spec §5). TorchServe reads
 * it with Gson and, per field, falls back to the default when a value is not a positive integer
 * (`ConfigManager.getJsonIntValue`); a syntax error in the JSON stops the server.
 */
import { ConfigError } from './errors.js';
import type { ModelsJson, ModelsJsonEntry } from './types.js';

const INT_FIELDS = [
  'minWorkers',
  'maxWorkers',
  'batchSize',
  'maxBatchDelay',
  'responseTimeout',
  'startupTimeout',
  'parallelLevel',
] as const;
const STRING_FIELDS = ['marName', 'runtimeType'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Gson's getAsInt: a number is truncated, a string is parsed; anything else is not an int. */
function asInt(v: unknown): number | null {
  let n: number | null = null;
  if (typeof v === 'number' && Number.isFinite(v)) n = Math.trunc(v);
  else if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) n = Number.parseInt(v, 10);
  // A Java int cannot hold more (Gson fails on "99999999999"); a worker count of 1e20 is not a setting.
  return n !== null && n >= -2147483648 && n <= 2147483647 ? n : null;
}

function parseEntry(raw: Record<string, unknown>, where: string, warnings: string[]): ModelsJsonEntry {
  const entry: ModelsJsonEntry = {};
  for (const field of INT_FIELDS) {
    if (raw[field] === undefined || raw[field] === null) continue;
    const n = asInt(raw[field]);
    if (n === null) {
      warnings.push(`models: invalid value for ${where}, parameter: ${field} (${JSON.stringify(raw[field])}); ignored`);
    } else if (n > 0) {
      entry[field] = n; // non-positive values are dropped silently, as TorchServe does
    }
  }
  for (const field of STRING_FIELDS) {
    const v = raw[field];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') entry[field] = v;
    else warnings.push(`models: invalid value for ${where}, parameter: ${field} (${JSON.stringify(v)}); ignored`);
  }
  const dv = raw['defaultVersion'];
  if (typeof dv === 'boolean') entry.defaultVersion = dv;
  else if (typeof dv === 'string' && /^(true|false)$/i.test(dv)) entry.defaultVersion = dv.toLowerCase() === 'true';
  else if (dv !== undefined && dv !== null) {
    warnings.push(`models: invalid value for ${where}, parameter: defaultVersion (${JSON.stringify(dv)}); ignored`);
  }
  return entry;
}

/** Parses the `models` property; per-field problems become warnings, a malformed document a ConfigError. */
export function parseModelsJson(text: string, warnings: string[]): ModelsJson {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Invalid JSON in the "models" property: ${(err as Error).message}`);
  }
  if (!isObject(doc)) {
    throw new ConfigError('The "models" property must be a JSON object {"<model>": {"<version>": {...}}}');
  }
  // Object.fromEntries defines own properties, so a "__proto__" key stays a key instead of setting the
  // object's prototype (plain assignment would drop that model or version and keep the rest).
  const models: Array<[string, Record<string, ModelsJsonEntry>]> = [];
  for (const [model, versions] of Object.entries(doc)) {
    if (!isObject(versions)) {
      throw new ConfigError(`The "models" property: "${model}" must map versions to objects`);
    }
    const out: Array<[string, ModelsJsonEntry]> = [];
    for (const [version, raw] of Object.entries(versions)) {
      if (!isObject(raw)) {
        throw new ConfigError(`The "models" property: "${model}" version "${version}" must be an object`);
      }
      out.push([version, parseEntry(raw, `model: ${model}:${version}`, warnings)]);
    }
    models.push([model, Object.fromEntries(out)]);
  }
  return Object.fromEntries(models);
}
