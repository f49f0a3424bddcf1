/**
 * The `allowed_urls` policy: which form of a registration URL is matched, and where a local path may
 * point. The rule (docs/security.md): a `url` is either a name inside the model store (its real path,
 * symbolic links resolved, must stay inside the store) or a URL that matches `allowed_urls`, and the URL
 * that is matched is exactly the URL that is fetched.
 *
 * TorchServe matched the URL as given and then let its HTTP client normalise it, so an encoded `..`
 * (`%2e%2e`, or `%252e%252e` that the query-string decoder turns into `%2e%2e`) passed a pattern such as
 * `http://host/models/.*` and fetched a file outside `/models/` (the CVE-2024-35198 class). Here the URL
 * is brought to one canonical form first, with WHATWG URL parsing (what `fetch` itself uses, so the
 * serialised form is exactly what goes on the wire), and whatever could still be read two ways by the
 * server at the other end (encoded slashes, double encoding, backslashes, user information) is refused.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ModelNotFoundException } from '../errors.js';

/** Whole-string, case-insensitive match, whatever flags the configured RegExp carries. */
export function matchesAllowedUrls(url: string, allowedUrls: readonly RegExp[]): boolean {
  return allowedUrls.some((re) => new RegExp(`^(?:${re.source})$`, 'i').test(url));
}

/** The 404 TorchServe answers for a URL outside `allowed_urls` (its exact message). */
export function notAllowed(url: string): ModelNotFoundException {
  return new ModelNotFoundException(`Given URL ${url} does not match any allowed URL(s)`);
}

/** TorchServe's answer to `..` in a url; also given when the `..` only appears once decoded. */
export function relativePath(url: string): ModelNotFoundException {
  return new ModelNotFoundException(`Relative path is not allowed in url: ${url}`);
}

function refused(url: string, reason: string): ModelNotFoundException {
  return new ModelNotFoundException(`Given URL ${url} is not allowed: ${reason}`);
}

/** RFC 3986 §2.3: these never need encoding, so decoding them changes no meaning (§6.2.2.2). */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

function decodeUnreserved(url: string): string {
  return url.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}

/**
 * The one form of an http(s) or file URL that is both matched against `allowed_urls` and fetched:
 * unreserved characters decoded, scheme and host lower-cased, IPv4 forms and default ports normalised,
 * `.` segments resolved, the fragment (never sent) dropped. Refused with a 404 (ModelNotFoundException):
 * backslashes, spaces and control characters anywhere; `..` once decoded; user information
 * (`http://allowed.example@evil.example/` reads as the first host to a person and a pattern, and is the
 * second to the client); in the path, an encoded `/` or `\`, or an encoded `.`, `/` or `\` still present
 * after one more decoding (double encoding, which a server that decodes twice would turn into `..`).
 * The query string is passed as it is: it is not a path, and signed URLs carry encoded slashes there.
 */
export function canonicalUrl(url: string): string {
  if (url.includes('\\')) throw refused(url, 'it contains a backslash');
  // The URL parser silently drops tabs and newlines, so `.\t.` would become `..` after this check.
  if (/[\u0000-\u0020\u007f]/.test(url)) throw refused(url, 'it contains a space or a control character');
  const decoded = decodeUnreserved(url);
  if (decoded.includes('..')) throw relativePath(url);
  let parsed: URL;
  try {
    parsed = new URL(decoded);
  } catch {
    throw refused(url, 'it is not a valid URL');
  }
  if (parsed.username !== '' || parsed.password !== '') throw refused(url, 'it contains user information (user@host)');
  parsed.hash = '';
  const pathname = parsed.pathname;
  if (/%(2F|5C)/i.test(pathname)) throw refused(url, 'its path contains an encoded "/" or "\\"');
  let once: string;
  try {
    once = decodeURIComponent(pathname);
  } catch {
    throw refused(url, 'its path has a malformed percent-encoding');
  }
  if (/%(2E|2F|5C)/i.test(once)) throw refused(url, 'its path contains a double-encoded ".", "/" or "\\"');
  if (/[\u0000-\u001f\u007f]/.test(once)) throw refused(url, 'its path contains an encoded control character');
  return parsed.href;
}

/** True when `target` is strictly inside `root` (both absolute, real paths): not a string-prefix test. */
export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** realpath that returns null for a missing path (and for a broken link). */
export async function realpathOrNull(p: string): Promise<string | null> {
  return fs.realpath(p).catch(() => null);
}

/**
 * True when a local file or directory may be opened: its real path is inside the (real) model store,
 * or both the path as given and its real path, as file:// URLs, match `allowed_urls`. Matching the
 * real path too means a symbolic link in an allowed directory cannot lead outside it.
 */
export async function localPathAllowed(
  given: string,
  real: string,
  store: string,
  allowedUrls: readonly RegExp[],
): Promise<boolean> {
  const realStore = await realpathOrNull(store);
  if (realStore !== null && isInside(realStore, real)) return true;
  return matchesAllowedUrls(pathToFileURL(given).href, allowedUrls) && matchesAllowedUrls(pathToFileURL(real).href, allowedUrls);
}
