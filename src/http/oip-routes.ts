/**
 * The Open Inference Protocol (KServe v2) REST routes on the inference API, so that ortserve can run as
 * a KServe custom ServingRuntime:
 *
 * - `/v2/health/live`, `/v2/health/ready`, `/v2` (server metadata);
 * - `/v2/models/{m}[/versions/{v}]` (model metadata) and `…/ready`;
 * - `/v2/models/{m}[/versions/{v}]/infer`.
 *
 * Infer follows TorchServe where TorchServe has a behaviour: with a `service_envelope` configured, or a
 * handler other than the built-in text_classifier, the body goes to the handler as it is (the kservev2
 * envelope, when configured, unwraps and wraps it in the worker: src/envelopes) and the handler's answer
 * is sent as it is. Without an envelope, the built-in text_classifier understands OIP itself: a BYTES
 * tensor of texts gets a BYTES tensor of labels and an FP32 tensor of their probabilities.
 *
 * Every error on these routes is OIP's `{"error": "message"}` with the HTTP status (token errors come
 * earlier in the chain, in TorchServe's shape).
 */
import { parseInferenceRequest, TensorError } from '../envelopes/tensor.js';
import { ServeError } from '../errors.js';
import { BodyReadError } from './body.js';
import { classifyTexts, isModelReady, modelMetadata, OipError, serverMetadata, speaksOip } from '../inference/oip.js';
import { submitPrediction, type Submission } from '../inference/submit.js';
import type { WireRequest } from '../workers/messages.js';
import type { Exchange, HttpDeps } from './exchange.js';
import { clientHeaders, requestParameters } from './request-input.js';
import { sendJson, sendPrediction } from './respond.js';

function sendOipError(x: Exchange, err: unknown): void {
  if (x.res.headersSent) {
    x.res.destroy();
    return;
  }
  if (err instanceof OipError || err instanceof ServeError) sendJson(x.res, err.status, { error: err.message });
  else if (err instanceof TensorError) sendJson(x.res, 400, { error: err.message });
  else sendJson(x.res, 500, { error: err instanceof Error ? err.message : String(err) });
}

interface OipTarget {
  model: string;
  version: string | null;
  /** '' for metadata. */
  action: '' | 'ready' | 'infer';
}

/** `/v2/models/{m}[/versions/{v}][/ready|/infer]`, or null. */
function matchModel(seg: string[]): OipTarget | null {
  if (seg[1] !== 'v2' || seg[2] !== 'models' || !seg[3]) return null;
  const model = seg[3];
  let rest = seg.slice(4);
  let version: string | null = null;
  if (rest[0] === 'versions') {
    if (!rest[1]) return null;
    version = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0) return { model, version, action: '' };
  if (rest.length === 1 && (rest[0] === 'ready' || rest[0] === 'infer')) return { model, version, action: rest[0] };
  return null;
}

/** Settles the jobs of one HTTP exchange: cancelled if the client leaves, counted when it ends. */
function track(x: Exchange, submissions: Submission[]): void {
  x.res.once('close', () => {
    for (const s of submissions) {
      if (!x.res.writableFinished) s.job.cancelled = true;
      s.finished(x.res.writableFinished ? x.res.statusCode : null);
    }
  });
}

/** TorchServe's pass-through: the raw body to the handler (through the envelope, if configured). */
async function passThrough(deps: HttpDeps, x: Exchange, t: OipTarget): Promise<void> {
  const request: WireRequest = {
    requestId: x.requestId,
    headers: { ...clientHeaders(x.req), url_path: '', explain: 'False' },
    parameters: await requestParameters(x.req, await x.readBody()),
  };
  const submission = submitPrediction(deps, t.model, t.version, request);
  track(x, [submission]);
  const outcome = await submission.outcome;
  if (outcome.ok) sendPrediction(x.res, outcome.response);
  else sendOipError(x, outcome.error);
}

async function infer(deps: HttpDeps, x: Exchange, t: OipTarget): Promise<void> {
  const mv = deps.manager.registry.get(t.model, t.version);
  if (!speaksOip(deps, mv)) return passThrough(deps, x, t);
  const text = (await x.readBody()).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new OipError(400, 'The request body is not valid JSON');
  }
  // Each text is sent as JSON: the client's Content-Type (and length) describe the OIP body, not it.
  const sent = Object.entries(clientHeaders(x.req)).filter(([k]) => !/^content-(type|length)$/i.test(k));
  const headers: Record<string, string> = { ...Object.fromEntries(sent), url_path: '', explain: 'False' };
  const run = classifyTexts(deps, mv, t.version, parseInferenceRequest(body), headers, x.requestId);
  track(x, run.submissions);
  sendJson(x.res, 200, await run.response);
}

async function route(deps: HttpDeps, x: Exchange): Promise<boolean> {
  const seg = x.segments;
  if (seg.length === 2) {
    sendJson(x.res, 200, serverMetadata());
    return true;
  }
  if (seg.length === 4 && seg[2] === 'health' && (seg[3] === 'live' || seg[3] === 'ready')) {
    if (seg[3] === 'live') sendJson(x.res, 200, { live: true });
    else {
      const ready = deps.manager.isHealthy();
      sendJson(x.res, ready ? 200 : 503, { ready });
    }
    return true;
  }
  const t = matchModel(seg);
  if (!t) return false;
  if (t.action === 'infer') {
    await infer(deps, x, t);
    return true;
  }
  const mv = deps.manager.registry.get(t.model, t.version);
  if (t.action === 'ready') {
    const ready = isModelReady(mv);
    sendJson(x.res, ready ? 200 : 503, { name: mv.name, ready });
  } else sendJson(x.res, 200, modelMetadata(deps, mv));
  return true;
}

/** Handles the request if it is an OIP route (any path under `/v2` it knows); false lets the chain go on. */
export async function oipRoutes(deps: HttpDeps, x: Exchange): Promise<boolean> {
  if (x.segments[1] !== 'v2') return false;
  try {
    return await route(deps, x);
  } catch (err) {
    // A body that could not be read gets the same answer on every route (app.ts).
    if (err instanceof BodyReadError) throw err;
    sendOipError(x, err);
    return true;
  }
}
