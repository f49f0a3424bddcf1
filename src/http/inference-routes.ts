/**
 * The inference API's routes (spec §1.1–1.2): ping, predictions, explanations, KServe pass-through, and
 * the other prediction routes of TorchServe's InferenceRequestHandler: SageMaker's `/invocations`
 * (`?model_name=`) and `/models/{m}/invoke`, and the legacy `/{m}/predict` and `/{m}/{v}/predict`.
 */
import { submitPrediction } from '../inference/submit.js';
import type { WireRequest } from '../workers/messages.js';
import type { Exchange, HttpDeps } from './exchange.js';
import { modelInferenceApi } from './openapi.js';
import { clientHeaders, requestParameters } from './request-input.js';
import { endPredictionAfterError, sendError, sendJson, sendPrediction, sendPredictionPart } from './respond.js';

interface Target {
  model: string;
  version: string | null;
  urlPath: string;
  explain: boolean;
}

/**
 * The model `/invocations` predicts with: its `model_name` query parameter, else the one model loaded at
 * startup when there is exactly one (TorchServe's handleInvocations); an unknown name is the usual 404.
 */
function invocationsModel(deps: HttpDeps, x: Exchange): string {
  const named = x.query.get('model_name');
  if (named) return named;
  const startup = new Set(deps.manager.registry.all().filter((v) => v.loadedAtStartup).map((v) => v.name));
  return startup.size === 1 ? [...startup][0]! : 'null';
}

/** Which model route a path names, or null. HTTP methods are not checked, as in TorchServe. */
function matchTarget(deps: HttpDeps, x: Exchange): Target | null {
  const seg = x.segments;
  const [, first, second, third, fourth] = seg;
  if (first === 'invocations' && seg.length === 2) return { model: invocationsModel(deps, x), version: null, urlPath: '', explain: false };
  if (first === 'models' && seg.length === 4 && second && third === 'invoke') return { model: second, version: null, urlPath: '', explain: false };
  if (first && seg.length === 3 && second === 'predict') return { model: first, version: null, urlPath: '', explain: false };
  if (first && second && seg.length === 4 && third === 'predict') return { model: first, version: second, urlPath: '', explain: false };
  if ((first === 'predictions' || first === 'explanations') && seg.length >= 3 && second) {
    return { model: second, version: third || null, urlPath: seg.slice(4).join('/'), explain: first === 'explanations' };
  }
  if (first === 'v1' && second === 'models' && seg.length === 4 && third) {
    const m = /^(.+):(predict|explain)$/.exec(third);
    if (m) return { model: m[1]!, version: null, urlPath: '', explain: m[2] === 'explain' };
  }
  if (first === 'v2' && second === 'models' && seg.length === 5 && third && (fourth === 'infer' || fourth === 'explain')) {
    return { model: third, version: null, urlPath: '', explain: fourth === 'explain' };
  }
  return null;
}

/** Runs one request through a model version's queue and sends the handler's answer. */
async function predict(deps: HttpDeps, x: Exchange, t: Target): Promise<void> {
  // An unknown model is a 404 from the headers alone: its body is never read (issue 13).
  deps.manager.registry.get(t.model, t.version);
  const request: WireRequest = {
    requestId: x.requestId,
    headers: { ...clientHeaders(x.req), url_path: t.urlPath, explain: t.explain ? 'True' : 'False' },
    parameters: await requestParameters(x.req, await x.readBody()),
  };
  const { job, outcome: pending, finished } = submitPrediction(deps, t.model, t.version, request);
  // A client that hangs up before its answer should not cost a worker any time.
  x.res.once('close', () => {
    if (!x.res.writableFinished) job.cancelled = true;
    finished(x.res.writableFinished ? x.res.statusCode : null);
  });
  // Streaming (spec §1.6): each intermediate part is a chunk, sent as it arrives; the outcome ends it.
  job.onIntermediate((part) => sendPredictionPart(x.res, part));
  const outcome = await pending;
  if (outcome.ok) sendPrediction(x.res, outcome.response);
  else if (x.res.headersSent) endPredictionAfterError(x.res, outcome.error, x.requestId);
  else sendError(x.res, outcome.error);
}

/** Handles the request if it is an inference route; false lets the chain go on. */
export async function inferenceRoutes(deps: HttpDeps, x: Exchange): Promise<boolean> {
  if (x.segments[1] === 'ping' && x.segments.length === 2) {
    const healthy = deps.manager.isHealthy();
    sendJson(x.res, healthy ? 200 : 500, { status: healthy ? 'Healthy' : 'Unhealthy' });
    return true;
  }
  const target = matchTarget(deps, x);
  if (!target) return false;
  if (x.method === 'OPTIONS' && x.segments[1] === 'predictions') {
    deps.manager.registry.get(target.model);
    sendJson(x.res, 200, modelInferenceApi(target.model));
    return true;
  }
  await predict(deps, x, target);
  return true;
}
