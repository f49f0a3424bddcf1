/**
 * Register and scale parameters, read the way TorchServe reads them (spec §2.1, §2.2): from the query
 * string, or from a JSON body with the same keys; integers that do not parse fall back to the default.
 * Their bounds are checked by the registry (settings.ts), the same for every transport.
 */
import { BadRequestException } from '../errors.js';
import { registerInt, type RegisterParams } from '../registry/settings.js';
import type { Exchange } from './exchange.js';
import { mimeType } from './request-input.js';

type Source = (key: string) => string | undefined;

/** What the parameter readers look at: the request's headers and query string, and its body once read. */
export interface ParamRequest {
  req: Exchange['req'];
  query: URLSearchParams;
  body: Buffer;
}

/** The exchange with its body read: routes call this only once the request is authorized and routed. */
export async function withBody(x: Exchange): Promise<ParamRequest> {
  return { req: x.req, query: x.query, body: await x.readBody() };
}

function querySource(q: URLSearchParams): Source {
  return (k) => q.get(k) ?? undefined;
}

function jsonSource(body: Buffer): Source {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new BadRequestException('Invalid JSON in the request body.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestException('The request body must be a JSON object.');
  }
  const obj = parsed as Record<string, unknown>;
  return (k) => {
    const v = Object.hasOwn(obj, k) ? obj[k] : undefined;
    if (v === undefined || v === null) return undefined;
    // Gson cannot read an object or an array into a String or int field either; String() of one is
    // meaningless ("[object Object]") or throws (an object whose toString is not a function).
    if (typeof v === 'object') throw new BadRequestException(`Parameter ${k} must be a string, a number or a boolean.`);
    return String(v);
  };
}

/** Java's Integer.parseInt, or undefined for anything it would reject. */
export function parseInteger(v: string | undefined): number | undefined {
  if (v === undefined || !/^[+-]?\d{1,10}$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/** Java's Boolean.parseBoolean with a default for a missing value. */
export function parseBoolean(v: string | undefined, fallback: boolean): boolean {
  return v === undefined ? fallback : v.toLowerCase() === 'true';
}

/** A request's parameters: its JSON body's keys when it has a JSON body, else its query string. */
export function paramSource(x: ParamRequest): Source {
  return mimeType(x.req) === 'application/json' ? jsonSource(x.body) : querySource(x.query);
}

export function registerParams(x: ParamRequest): RegisterParams {
  const get = paramSource(x);
  const url = get('url');
  // TorchServe tells "no url" (400) from "url=" (looked up in the model store: 404 "empty url").
  if (url === undefined) throw new BadRequestException('Parameter url is required.');
  return {
    url,
    modelName: get('model_name') || undefined,
    handler: get('handler') || undefined,
    runtime: get('runtime') || undefined,
    batchSize: registerInt(parseInteger(get('batch_size')), 'batch_size'),
    maxBatchDelay: registerInt(parseInteger(get('max_batch_delay')), 'max_batch_delay', -100),
    initialWorkers: registerInt(parseInteger(get('initial_workers')), 'initial_workers'),
    synchronous: parseBoolean(get('synchronous'), true),
    responseTimeout: registerInt(parseInteger(get('response_timeout')), 'response_timeout'),
    startupTimeout: registerInt(parseInteger(get('startup_timeout')), 'startup_timeout'),
  };
}

export interface ScaleParams {
  min: number;
  max: number;
  synchronous: boolean;
  version: string | null;
}

export function scaleParams(x: Exchange, versionInPath: string | null): ScaleParams {
  const q = x.query;
  const min = parseInteger(q.get('min_worker') ?? undefined) ?? 1;
  const max = parseInteger(q.get('max_worker') ?? undefined) ?? min;
  return {
    min,
    max,
    synchronous: parseBoolean(q.get('synchronous') ?? undefined, false),
    version: versionInPath ?? (q.get('model_version') || null),
  };
}
