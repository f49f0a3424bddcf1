/**
 * The try-a-model page (an ortserve addition no TorchServe client calls), on the inference listener only:
 * - `GET /ui`: the page. It needs no token, because a browser navigation cannot send one; it holds no
 *   data, and everything it shows comes from calls that do need the inference key.
 * - `GET /ui/models`: the registered models for its picker, after the token check like any inference call.
 */
import { MESSAGES, MethodNotAllowedException } from '../errors.js';
import { UI_CSP, UI_PAGE } from '../ui/page.js';
import type { Exchange, HttpDeps } from './exchange.js';
import { sendJson } from './respond.js';

/** One entry of `GET /ui/models`. */
export interface UiModel {
  modelName: string;
  /** Every registered version, in numeric-aware order ("2.0" before "10.0"). */
  versions: string[];
  defaultVersion: string;
}

const PAGE = Buffer.from(UI_PAGE, 'utf8');

function isPath(x: Exchange, ...rest: string[]): boolean {
  return x.segments.length === rest.length + 1 && rest.every((s, i) => x.segments[i + 1] === s);
}

function isRead(x: Exchange): boolean {
  return x.method === 'GET' || x.method === 'HEAD';
}

/** `GET /ui`, before the token check; any other method goes on to the chain (and the token check). */
export function uiPage(x: Exchange): boolean {
  if (!isPath(x, 'ui') || !isRead(x)) return false;
  const res = x.res;
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', PAGE.length);
  res.setHeader('Content-Security-Policy', UI_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  // Node leaves the body out of a HEAD answer by itself.
  res.end(PAGE);
  return true;
}

/** The registered models, names sorted as the management list sorts them. */
export function listUiModels(deps: HttpDeps): UiModel[] {
  const registry = deps.manager.registry;
  return registry.names().map((modelName) => ({
    modelName,
    versions: registry
      .versions(modelName)
      .map((v) => v.version)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
    defaultVersion: registry.defaultVersion(modelName),
  }));
}

/** `/ui/models`, and other methods on `/ui`, after the token check. */
export function uiRoutes(deps: HttpDeps, x: Exchange): boolean {
  const models = isPath(x, 'ui', 'models');
  if (!models && !isPath(x, 'ui')) return false;
  if (!models || !isRead(x)) throw new MethodNotAllowedException(MESSAGES.methodNotAllowed);
  sendJson(x.res, 200, listUiModels(deps));
  return true;
}
