/** The management API's routes (spec §2): list, register, describe, scale, set-default, unregister. */
import { randomUUID } from 'node:crypto';
import { MESSAGES, MethodNotAllowedException, ServiceUnavailableException } from '../errors.js';
import { describeVersion, listModels } from '../registry/describe.js';
import type { ModelVersion } from '../registry/model-version.js';
import { Job } from '../scheduling/job.js';
import type { Exchange, HttpDeps } from './exchange.js';
import { parseInteger, registerParams, scaleParams } from './management-params.js';
import { modelManagementApi } from './openapi.js';
import { sendJson, sendStatus } from './respond.js';

function notAllowed(): never {
  throw new MethodNotAllowedException(MESSAGES.methodNotAllowed);
}

/** `customized=true`: asks a worker for the handler's own metadata (a DESCRIBE job, sent alone). */
async function customizedMetadata(mv: ModelVersion): Promise<unknown> {
  if (mv.workerList.length === 0) {
    throw new ServiceUnavailableException(
      `Model "${mv.name}" has no worker to serve describe request. Please use scale workers API to add workers.`,
    );
  }
  const job = new Job({ requestId: randomUUID(), headers: { describe: 'True' }, parameters: [] });
  mv.submit(job, false);
  const outcome = await job.outcome;
  if (!outcome.ok) throw outcome.error;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(outcome.response.body).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

async function describe(deps: HttpDeps, x: Exchange, name: string, version: string | null): Promise<void> {
  const registry = deps.manager.registry;
  if (version === 'all') {
    sendJson(x.res, 200, registry.versions(name).map((v) => describeVersion(v)));
    return;
  }
  const mv = registry.get(name, version);
  const customized = x.query.get('customized')?.toLowerCase() === 'true';
  sendJson(x.res, 200, [describeVersion(mv, customized ? await customizedMetadata(mv) : undefined)]);
}

async function modelRoute(deps: HttpDeps, x: Exchange, name: string, version: string | null): Promise<void> {
  const m = deps.manager;
  switch (x.method) {
    case 'GET':
      return describe(deps, x, name, version);
    case 'PUT': {
      const p = scaleParams(x, version);
      const r = await m.scale(name, p.version, p.min, p.max, p.synchronous);
      return sendStatus(x.res, r.status, r.message);
    }
    case 'DELETE': {
      if (!deps.config.enableModelApi) notAllowed();
      const r = await m.unregister(name, version);
      return sendStatus(x.res, r.status, r.message);
    }
    case 'OPTIONS':
      m.registry.get(name, version);
      return sendJson(x.res, 200, modelManagementApi(name));
    default:
      notAllowed();
  }
}

/** Handles the request if it is a management route; false lets the chain go on. */
export async function managementRoutes(deps: HttpDeps, x: Exchange): Promise<boolean> {
  const seg = x.segments;
  const m = deps.manager;
  if (seg[1] === 'models') {
    if (seg.length === 2) {
      if (x.method === 'GET') {
        const limit = parseInteger(x.query.get('limit') ?? undefined) ?? 100;
        const token = parseInteger(x.query.get('next_page_token') ?? undefined) ?? 0;
        sendJson(x.res, 200, listModels(m.registry, limit, token));
      } else if (x.method === 'POST' && deps.config.enableModelApi) {
        const r = await m.register(registerParams(x));
        sendStatus(x.res, r.status, r.message);
      } else {
        notAllowed();
      }
      return true;
    }
    const name = seg[2]!;
    if (seg.length === 5 && seg[4] === 'set-default') {
      if (x.method !== 'PUT') notAllowed();
      const r = m.setDefault(name, seg[3]!);
      sendStatus(x.res, r.status, r.message);
      return true;
    }
    if (seg.length > 4) return false;
    await modelRoute(deps, x, name, seg[3] ?? null);
    return true;
  }
  if (seg[1] === 'v1' && seg[2] === 'models' && seg.length === 4 && !seg[3]!.includes(':')) {
    if (x.method !== 'GET') notAllowed();
    const mv = m.registry.get(seg[3]!);
    sendJson(x.res, 200, { name: seg[3], ready: mv.workerList.length > 0 });
    return true;
  }
  return false;
}
