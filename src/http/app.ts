/**
 * The request listener of one HTTP listener. The chain runs in TorchServe's order (spec §1.1, §2): API
 * description (no token), token authorization (before route matching, so an unknown path without a
 * token is a 400), the routes of the listener's API, then the generic 404.
 *
 * It is a plain Node listener rather than an Express app: the chain does its own routing (TorchServe's
 * rules, not Express's), so Express only added its router and body parser, and those cost about 0.5 ms
 * of every prediction's latency at concurrency 1 on a 2-core machine (docs/benchmarks.md).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { InvalidKeyException, MESSAGES, MethodNotAllowedException, ResourceNotFoundException } from '../errors.js';
import { BodyReadError, readBody } from './body.js';
import { splitPath, type Exchange, type HttpDeps } from './exchange.js';
import { inferenceRoutes } from './inference-routes.js';
import { managementRoutes } from './management-routes.js';
import { oipRoutes } from './oip-routes.js';
import { inferenceApi, managementApi } from './openapi.js';
import { sendError, sendJson, sendPreflight, sendTooLarge, setStandardHeaders } from './respond.js';
import { uiPage, uiRoutes } from './ui-routes.js';
import { workflowRoutes } from './workflow-routes.js';

/** `all` is the single listener used when inference and management share one address. */
export type ApiRole = 'inference' | 'management' | 'all';

const MANAGEMENT_FIRST_SEGMENTS = new Set(['models', 'token', 'workflows']);

/** Which key a request needs: on a shared listener, management paths need the management key. */
function tokenKind(role: ApiRole, x: Exchange): 'inference' | 'management' {
  if (role !== 'all') return role;
  const first = x.segments[1] ?? '';
  const v1Ready = first === 'v1' && x.segments[2] === 'models' && !(x.segments[3] ?? '').includes(':');
  return MANAGEMENT_FIRST_SEGMENTS.has(first) || v1Ready ? 'management' : 'inference';
}

function apiDescription(role: ApiRole, x: Exchange): boolean {
  const isRoot = x.segments.length === 0;
  const isDescription = x.segments.length === 2 && x.segments[1] === 'api-description';
  if (!isRoot && !isDescription) return false;
  if (isRoot && x.method !== 'OPTIONS') throw new MethodNotAllowedException(MESSAGES.methodNotAllowed);
  sendJson(x.res, 200, role === 'management' ? managementApi() : inferenceApi());
  return true;
}

/**
 * A CORS preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) when `cors_allowed_origin`
 * is set: 200 with the CORS headers and no body, before the token check and without running a route.
 * ortserve deviation: TorchServe sends preflights down its chain, so with token authorization on they get
 * the 400 InvalidKeyException (browsers send no credentials on a preflight) and browsers refuse the real
 * request; and an OPTIONS on an inference route that is not /predictions runs a prediction.
 */
function corsPreflight(deps: HttpDeps, x: Exchange): boolean {
  if (x.method !== 'OPTIONS' || !deps.config.corsAllowedOrigin) return false;
  if (x.req.headers.origin === undefined || x.req.headers['access-control-request-method'] === undefined) return false;
  sendPreflight(x.res);
  return true;
}

/** `/token?type=…` on the management API: rotation with the API key, checked before the management key. */
function tokenRoute(deps: HttpDeps, x: Exchange): boolean {
  if (!deps.tokens || x.segments[1] !== 'token' || x.segments.length !== 2) return false;
  if (!deps.tokens.rotate(x.query.get('type'), x.req.headers.authorization)) {
    throw new InvalidKeyException(MESSAGES.invalidTokenRefresh);
  }
  x.res.statusCode = 200;
  x.res.setHeader('Content-Type', 'application/json');
  x.res.end('\n');
  return true;
}

async function dispatch(deps: HttpDeps, role: ApiRole, x: Exchange): Promise<void> {
  if (apiDescription(role, x)) return;
  if (corsPreflight(deps, x)) return;
  // The /ui page needs no token (a browser navigation cannot send one); its data calls do.
  if (role !== 'management' && uiPage(x)) return;
  if (role !== 'inference' && tokenRoute(deps, x)) return;
  if (deps.tokens && !deps.tokens.check(tokenKind(role, x), x.req.headers.authorization)) {
    throw new InvalidKeyException(MESSAGES.invalidToken);
  }
  if (role !== 'management' && uiRoutes(deps, x)) return;
  if (role !== 'management' && (await oipRoutes(deps, x))) return;
  if (role !== 'management' && (await inferenceRoutes(deps, x))) return;
  if (role !== 'inference' && (await managementRoutes(deps, x))) return;
  if (await workflowRoutes(deps, role, x)) return;
  throw new ResourceNotFoundException(MESSAGES.notFoundRoute);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Whether the request line and headers announce a body (Node gives a request without either no body). */
function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** How long a connection stays half-open after an answer that left its request's body unread. */
const LINGER_MS = 2000;

/**
 * Node destroys a `Connection: close` socket as soon as the answer is written. With body bytes still
 * arriving the kernel then resets the connection, and a client still sending may lose the answer before
 * reading it. So such a socket is only ended (FIN): what still arrives is discarded (Node dumps the unread
 * body) until the client closes or LINGER_MS pass.
 */
function lingerIfUnread(req: IncomingMessage): void {
  if (req.complete) return;
  const socket = req.socket;
  socket.destroySoon = (): void => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

/**
 * The body on demand. A request answered without its body (bad token, unknown route or model, wrong
 * method) gets an error answer, which carries `Connection: close` (respond.ts, as TorchServe): its
 * connection is then closed after the answer (lingerIfUnread) instead of held while the client sends
 * megabytes that would only be discarded. A client that sent `Expect: 100-continue` is told to go on only
 * now (listeners.ts hands such requests here before Node answers them), so a refused one never sends its
 * body at all.
 */
function lazyBody(req: IncomingMessage, res: ServerResponse, limit: number): () => Promise<Buffer> {
  if (!declaresBody(req)) return () => readBody(req, limit);
  res.once('prefinish', () => lingerIfUnread(req));
  let body: Promise<Buffer> | null = null;
  return () => {
    if (body) return body;
    if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue();
    body = readBody(req, limit);
    return body;
  };
}

function newExchange(req: IncomingMessage, res: ServerResponse, requestId: string, readRequestBody: () => Promise<Buffer>): Exchange {
  // Not `new URL()`: it would resolve `..` segments, which TorchServe's router never does.
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  return {
    req,
    res,
    requestId,
    method: (req.method ?? 'GET').toUpperCase(),
    segments: splitPath(rawPath).map(decodeSegment),
    query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
    readBody: readRequestBody,
  };
}

/** The answer to a failed exchange: raw-body's errors have their own, everything else is an error JSON. */
function answerFailure(res: ServerResponse, err: unknown): void {
  if (err instanceof BodyReadError && err.type === 'entity.too.large') sendTooLarge(res);
  else if (err instanceof BodyReadError && err.type === 'request.aborted') res.destroy();
  else sendError(res, err);
}

/** The listener for one API role: runs the chain, which reads the body (within max_request_size) only where a route needs it. */
export function createRequestListener(deps: HttpDeps, role: ApiRole): RequestListener {
  return (req, res) => {
    // TorchServe sends no Date header; x-request-id and cache headers go on every response.
    res.sendDate = false;
    res.once('finish', () => deps.metrics.response(res.statusCode));
    const requestId = randomUUID();
    setStandardHeaders(res, requestId, deps.config);
    const x = newExchange(req, res, requestId, lazyBody(req, res, deps.config.maxRequestSize));
    // A declared length over the limit is refused before anything else, as Netty's aggregator does in
    // TorchServe (before its token check): from the headers, nothing of the body is read.
    if (Number(req.headers['content-length'] ?? 0) > deps.config.maxRequestSize) {
      sendTooLarge(res);
      return;
    }
    dispatch(deps, role, x).catch((err: unknown) => answerFailure(res, err));
  };
}
