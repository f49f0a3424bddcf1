/**
 * The workflow routes (spec §10, TorchServe 0.12's WorkflowMgmtRequestHandler and
 * WorkflowInferenceRequestHandler):
 * - management API: `POST /workflows?url=&workflow_name=&response_timeout=&startup_timeout=` (or the
 *   same keys in a JSON body), `GET /workflows[?limit=&next_page_token=]`, `GET /workflows/{name}`,
 *   `DELETE /workflows/{name}`; other methods are 405. Registering a workflow registers models and runs its
 *   handler's code, so POST and DELETE need `enable_model_api=true` as /models does (405 otherwise);
 *   TorchServe 0.12 did not gate them.
 * - inference API: `/wfpredict/{name}` with any method, the body read as for /predictions.
 */
import { MESSAGES, MethodNotAllowedException, ResourceNotFoundException } from '../errors.js';
import type { WireRequest } from '../workers/messages.js';
import { workflowManagerFor } from '../workflows/workflow-manager.js';
import type { ApiRole } from './app.js';
import type { Exchange, HttpDeps } from './exchange.js';
import { paramSource, parseInteger, withBody, type ParamRequest } from './management-params.js';
import { clientHeaders, requestParameters } from './request-input.js';
import { sendJson, sendPrediction, sendStatus } from './respond.js';

function registerParams(x: ParamRequest): { url?: string; workflowName?: string; responseTimeout?: number; startupTimeout?: number } {
  const get = paramSource(x);
  const positive = (v: string | undefined): number | undefined => {
    const n = parseInteger(v);
    return n !== undefined && n > 0 ? n : undefined;
  };
  return {
    url: get('url') || undefined,
    workflowName: get('workflow_name') || undefined,
    responseTimeout: positive(get('response_timeout')),
    startupTimeout: positive(get('startup_timeout')),
  };
}

async function management(deps: HttpDeps, x: Exchange): Promise<boolean> {
  const seg = x.segments;
  if (seg[1] !== 'workflows' || seg.length < 2 || seg.length > 4) return false;
  const wm = workflowManagerFor(deps.manager, deps.metrics);
  if (seg.length === 2) {
    if (x.method === 'GET') {
      const limit = parseInteger(x.query.get('limit') ?? undefined) ?? 100;
      const token = parseInteger(x.query.get('next_page_token') ?? undefined) ?? 0;
      sendJson(x.res, 200, wm.list(limit, token));
    } else if (x.method === 'POST' && deps.config.enableModelApi) {
      const r = await wm.register(registerParams(await withBody(x)));
      sendStatus(x.res, r.status, r.message);
    } else {
      throw new MethodNotAllowedException(MESSAGES.methodNotAllowed);
    }
    return true;
  }
  const name = seg[2]!;
  if (x.method === 'GET') sendJson(x.res, 200, wm.describe(name));
  else if (x.method === 'DELETE' && deps.config.enableModelApi) {
    const r = await wm.unregister(name);
    sendStatus(x.res, r.status, r.message);
  } else throw new MethodNotAllowedException(MESSAGES.methodNotAllowed);
  return true;
}

async function inference(deps: HttpDeps, x: Exchange): Promise<boolean> {
  if ((x.segments[1] ?? '').toLowerCase() !== 'wfpredict') return false;
  if (x.segments.length < 3) throw new ResourceNotFoundException(MESSAGES.notFoundRoute);
  const request: WireRequest = {
    requestId: x.requestId,
    headers: { ...clientHeaders(x.req), url_path: '', explain: 'False' },
    parameters: await requestParameters(x.req, await x.readBody()),
  };
  const answer = await workflowManagerFor(deps.manager, deps.metrics).predict(x.segments[2]!, request);
  sendPrediction(x.res, { status: 200, phrase: '', contentType: answer.contentType, headers: {}, body: answer.body });
  return true;
}

/** Handles the request if it is a workflow route of this listener's API; false lets the chain go on. */
export async function workflowRoutes(deps: HttpDeps, role: ApiRole, x: Exchange): Promise<boolean> {
  if (role !== 'management' && (await inference(deps, x))) return true;
  if (role !== 'inference' && (await management(deps, x))) return true;
  return false;
}
