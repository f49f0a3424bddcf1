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
import { randomUUID } from 'node:crypto';
import { parseInferenceRequest, TensorError, type InferenceRequest } from '../envelopes/tensor.js';
import { ServeError } from '../errors.js';
import { BodyReadError } from './body.js';
import { submitPrediction, type Submission } from '../inference/submit.js';
import { SERVER_VERSION, type ModelVersion } from '../registry/model-version.js';
import type { JobOutcome } from '../scheduling/job.js';
import { isUnusable } from '../workers/handler-source.js';
import type { WireRequest } from '../workers/messages.js';
import type { Exchange, HttpDeps } from './exchange.js';
import { clientHeaders, requestParameters } from './request-input.js';
import { sendJson, sendPrediction } from './respond.js';

/** An OIP error: sent as `{"error": message}` with `status`. */
class OipError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

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

/** The built-in text_classifier answers OIP itself when no envelope is configured. */
function isTextClassifier(mv: ModelVersion): boolean {
  return !isUnusable(mv.handler) && mv.handler.builtin && mv.archive.manifest.model.handler === 'text_classifier';
}

function isReady(mv: ModelVersion): boolean {
  return mv.workerList.some((w) => w.state === 'ready');
}

/** `$metadata_model_response`. Only the text_classifier's tensors are known; other handlers list none. */
function modelMetadata(deps: HttpDeps, mv: ModelVersion): unknown {
  const text = isTextClassifier(mv) && !deps.config.serviceEnvelope;
  return {
    name: mv.name,
    versions: deps.manager.registry.versions(mv.name).map((v) => v.version),
    platform: 'onnxruntime_onnx',
    inputs: text ? [{ name: 'text', datatype: 'BYTES', shape: [-1] }] : [],
    outputs: text
      ? [
          { name: 'label', datatype: 'BYTES', shape: [-1] },
          { name: 'score', datatype: 'FP32', shape: [-1] },
        ]
      : [],
  };
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

/** The classifier's answer for one text: its best label and probability, or the error to send. */
function bestLabel(outcome: JobOutcome, element: number): { label: string; score: number } {
  if (!outcome.ok) throw new OipError(outcome.error.status, outcome.error.message);
  const r = outcome.response;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength).toString('utf8'));
  } catch {
    body = null;
  }
  if (r.status !== 200) {
    const message = (body as { message?: unknown } | null)?.message;
    throw new OipError(r.status, `Text ${element}: ${typeof message === 'string' ? message : 'prediction failed'}`);
  }
  const best = Array.isArray(body) ? (body[0] as { label?: unknown; score?: unknown } | undefined) : undefined;
  if (typeof best?.label !== 'string' || typeof best.score !== 'number') throw new OipError(500, 'Unexpected answer from the text_classifier');
  return { label: best.label, score: best.score };
}

/**
 * OIP on the built-in text_classifier: each text of the BYTES input is one classifier request
 * (`{"text": …}`), so the texts of one or many clients are batched together by the scheduler.
 */
async function classifyTexts(deps: HttpDeps, x: Exchange, mv: ModelVersion, t: OipTarget, req: InferenceRequest): Promise<void> {
  if (req.inputs.length !== 1 || req.inputs[0]!.datatype !== 'BYTES') {
    const got = req.inputs.map((i) => `${i.name} (${i.datatype})`).join(', ');
    throw new OipError(400, `The text_classifier takes one BYTES input tensor of texts, got ${got}`);
  }
  const known = ['label', 'score'];
  const wanted = req.outputs ?? known;
  const unknown = wanted.find((n) => !known.includes(n));
  if (unknown !== undefined) throw new OipError(400, `Unknown output "${unknown}": the text_classifier has outputs label, score`);
  const texts = req.inputs[0]!.data as string[];
  // Each text is sent as JSON: the client's Content-Type (and length) describe the OIP body, not it.
  const sent = Object.entries(clientHeaders(x.req)).filter(([k]) => !/^content-(type|length)$/i.test(k));
  const headers: Record<string, string> = { ...Object.fromEntries(sent), url_path: '', explain: 'False' };
  const submissions: Submission[] = [];
  try {
    for (const text of texts) {
      const request: WireRequest = {
        requestId: randomUUID(),
        headers,
        parameters: [{ name: 'body', contentType: 'application/json', value: Buffer.from(JSON.stringify({ text }), 'utf8') }],
      };
      submissions.push(submitPrediction(deps, mv.name, t.version, request));
    }
  } catch (err) {
    // The queue could not take them all: what was queued is not worth a worker's time any more.
    for (const s of submissions) (s.job.cancelled = true), s.finished(null);
    throw err;
  }
  track(x, submissions);
  const outcomes = await Promise.all(submissions.map((s) => s.outcome));
  const best = outcomes.map(bestLabel);
  const outputs = [];
  if (wanted.includes('label')) outputs.push({ name: 'label', shape: [texts.length], datatype: 'BYTES', data: best.map((b) => b.label) });
  if (wanted.includes('score')) outputs.push({ name: 'score', shape: [texts.length], datatype: 'FP32', data: best.map((b) => b.score) });
  sendJson(x.res, 200, { model_name: mv.name, model_version: mv.version, id: req.id ?? x.requestId, outputs });
}

async function infer(deps: HttpDeps, x: Exchange, t: OipTarget): Promise<void> {
  const mv = deps.manager.registry.get(t.model, t.version);
  if (deps.config.serviceEnvelope || !isTextClassifier(mv)) return passThrough(deps, x, t);
  const text = (await x.readBody()).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new OipError(400, 'The request body is not valid JSON');
  }
  await classifyTexts(deps, x, mv, t, parseInferenceRequest(body));
}

async function route(deps: HttpDeps, x: Exchange): Promise<boolean> {
  const seg = x.segments;
  if (seg.length === 2) {
    sendJson(x.res, 200, { name: 'ortserve', version: SERVER_VERSION, extensions: [] });
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
    const ready = isReady(mv);
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
