/**
 * The Express app of one listener. The chain runs in TorchServe's order (spec §1.1, §2): API
 * description (no token), token authorization (before route matching, so an unknown path without a
 * token is a 400), the routes of the listener's API, then the generic 404.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { InvalidKeyException, MESSAGES, MethodNotAllowedException, ResourceNotFoundException } from '../errors.js';
import { splitPath, type Exchange, type HttpDeps } from './exchange.js';
import { inferenceRoutes } from './inference-routes.js';
import { managementRoutes } from './management-routes.js';
import { inferenceApi, managementApi } from './openapi.js';
import { sendError, sendJson, sendTooLarge, setStandardHeaders } from './respond.js';

/** `all` is the single listener used when inference and management share one address. */
export type ApiRole = 'inference' | 'management' | 'all';

const MANAGEMENT_FIRST_SEGMENTS = new Set(['models', 'token']);

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
  if (role !== 'inference' && tokenRoute(deps, x)) return;
  if (deps.tokens && !deps.tokens.check(tokenKind(role, x), x.req.headers.authorization)) {
    throw new InvalidKeyException(MESSAGES.invalidToken);
  }
  if (role !== 'management' && (await inferenceRoutes(deps, x))) return;
  if (role !== 'inference' && (await managementRoutes(deps, x))) return;
  throw new ResourceNotFoundException(MESSAGES.notFoundRoute);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function createApp(deps: HttpDeps, role: ApiRole): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((_req: Request, res: Response, next: NextFunction) => {
    // TorchServe sends no Date header; x-request-id and cache headers go on every response.
    res.sendDate = false;
    const requestId = randomUUID();
    res.locals.requestId = requestId;
    setStandardHeaders(res, requestId, deps.config);
    next();
  });
  app.use(express.raw({ type: () => true, limit: deps.config.maxRequestSize }));
  app.use(async (req: Request, res: Response) => {
    // Not `new URL()`: it would resolve `..` segments, which TorchServe's router never does.
    const [rawPath = '/', rawQuery = ''] = req.originalUrl.split(/\?(.*)/s);
    const x: Exchange = {
      req: req as IncomingMessage,
      res: res as ServerResponse,
      requestId: res.locals.requestId as string,
      method: req.method.toUpperCase(),
      segments: splitPath(rawPath).map(decodeSegment),
      query: new URLSearchParams(rawQuery),
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    };
    try {
      await dispatch(deps, role, x);
    } catch (err) {
      sendError(res, err);
    }
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const type = (err as { type?: string } | null)?.type;
    if (type === 'entity.too.large') sendTooLarge(res);
    else if (type === 'request.aborted') res.destroy();
    else sendError(res, err);
  });
  return app;
}
