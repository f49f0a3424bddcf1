/** The management API's routes (spec §2): list, register, describe, scale, set-default, unregister. */
import { MESSAGES, MethodNotAllowedException } from '../errors.js';
import { listModels } from '../registry/describe.js';
import { describeModels } from '../registry/describe-models.js';
import type { Exchange, HttpDeps } from './exchange.js';
import { parseInteger, registerParams, scaleParams, withBody } from './management-params.js';
import { modelManagementApi } from './openapi.js';
import { sendJson, sendStatus } from './respond.js';

function notAllowed(): never {
  throw new MethodNotAllowedException(MESSAGES.methodNotAllowed);
}

async function describe(deps: HttpDeps, x: Exchange, name: string, version: string | null): Promise<void> {
  const customized = x.query.get('customized')?.toLowerCase() === 'true';
  sendJson(x.res, 200, await describeModels(deps.manager.registry, name, version, customized));
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
        const r = await m.register(registerParams(await withBody(x)));
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
