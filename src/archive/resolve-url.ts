/**
 * Resolution of the `url` given to register (and `--models` / `load_models`) into something openArchive
 * can open: TorchServe's `ModelArchive.downloadModel` (spec §2.1 "URL resolution" steps 1-4), with the
 * same errors and messages. Which URLs and paths are allowed at all is url-policy.ts's job.
 *
 * ortserve differs from TorchServe on purpose:
 * - The URL matched against `allowed_urls` is the canonical form that is then fetched (url-policy.ts),
 *   not the string as given; URLs that could be read two ways are refused.
 * - A `file://` URL that passes `allowed_urls` is opened where it is, and its real path (symbolic links
 *   resolved) must match `allowed_urls` too. TorchServe copies it into the model store first (and
 *   refuses with "Model file already exists" when the store has that name); ortserve never copies, so
 *   the store is never written for a local file. `file://` URLs must be absolute (`file:///path`): a
 *   host part such as `file://../x` is refused, which closes CVE-2024-35198's relative-path trick at the
 *   parser as well as at the `..` check.
 * - A directory given as a path (absolute or relative to the working directory) is served in place only
 *   when its real path is inside the model store or, as a `file://` URL, matches `allowed_urls`;
 *   TorchServe serves any directory without a check.
 * - http(s) downloads (only when `allowed_urls` matches) go into the model store under a temporary name
 *   and are renamed into place only when complete. They have a size cap and a timeout; a redirect is
 *   followed only when its target, made canonical too, also matches `allowed_urls` (TorchServe's
 *   HttpURLConnection follows same-protocol redirects anywhere), at most 5 times. On any failure the
 *   partial file is removed, so nothing is left in the model store (CVE-2024-35198's lesson).
 *   `downloadedFile` names the file so the server can delete it on unregister or when registration
 *   fails later.
 * - A plain name (`squeezenet.mar`, `my_model_dir`) resolves inside the model store, as in TorchServe.
 *   A model-store entry whose real path is outside the model store is refused.
 * - A URL with a trailing slash (`my_model_dir/`) names the directory before it; TorchServe would take
 *   the empty last component and serve the model store itself.
 * - The reason for a download failure is attached as the error's `cause` (for logs), keeping
 *   TorchServe's exact message for the client.
 * Kept as in TorchServe: the `..` check on the raw URL, the allowed-URL check (case-insensitive, whole
 * URL), and the order "model-store file, URL directory, model-store directory".
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import {
  DownloadArchiveException,
  InternalServerException,
  ModelNotFoundException,
  type ServeError,
} from '../errors.js';
import { DEFAULT_EXTRACT_LIMITS } from './types.js';
import { canonicalUrl, isInside, localPathAllowed, matchesAllowedUrls, notAllowed, realpathOrNull, relativePath } from './url-policy.js';

export interface DownloadLimits {
  /** Largest archive accepted, in bytes. */
  maxBytes: number;
  /** Time allowed for the whole download (connect, redirects and body), in milliseconds. */
  timeoutMs: number;
}

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = {
  maxBytes: DEFAULT_EXTRACT_LIMITS.maxTotalBytes,
  timeoutMs: 10 * 60 * 1000,
};

export interface ResolveModelUrlOptions {
  modelStore: string | null;
  /** Each must match the whole URL, case-insensitively (Java `Matcher.matches` with CASE_INSENSITIVE). */
  allowedUrls: RegExp[];
  downloadLimits?: DownloadLimits;
}

export interface ResolvedModelUrl {
  /** An archive file or a model directory, for openArchive. */
  source: string;
  /** The file this call downloaded into the model store (delete it on unregister), else null. */
  downloadedFile: string | null;
}

const MAX_REDIRECTS = 5;
/** TorchServe's `ArchiveUtils.VALID_URL_PATTERN` ("file?" is in the original: it also matches "fil://"). */
const URL_LIKE = /^(?:file?:\/\/.*|http(s)?:\/\/.*)$/i;

/** True when TorchServe would treat `url` as a URL rather than a name or path. */
export function isUrlLike(url: string): boolean {
  return URL_LIKE.test(url);
}

/** The last path component, as TorchServe's `getFilenameFromUrl` (URL path, else `/` or `\` split). */
export function fileNameFromUrl(url: string): string {
  let p = url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      p = new URL(url).pathname;
    } catch {
      p = url;
    }
  }
  const parts = p.split(/[/\\]/);
  return parts[parts.length - 1] ?? '';
}

function downloadFailed(url: string, reason: string): ServeError {
  const err = new DownloadArchiveException(`Failed to download archive from: ${url}`);
  (err as Error).cause = reason;
  return err;
}

/** stat that returns null for a missing path (and for a broken link). */
async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  return fs.stat(p).catch(() => null);
}

/** Refuses a model-store entry whose real location is outside the (real) model store. */
async function checkInsideStore(store: string, entry: string, url: string): Promise<void> {
  const [realStore, realEntry] = await Promise.all([fs.realpath(store), fs.realpath(entry)]);
  if (!isInside(realStore, realEntry)) {
    throw new ModelNotFoundException(`Model not found at: ${url} (the model store entry links outside the model store)`);
  }
}

/** Counts bytes and fails past the cap: Content-Length may be absent or false. */
function byteCap(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      seen += chunk.length;
      if (seen > maxBytes) callback(new Error(`the archive is larger than ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
}

/**
 * Downloads `url` into `target` (which must not exist). Redirects are followed by hand so that each
 * hop is checked against `allowed_urls`.
 */
async function download(url: string, target: string, allowedUrls: readonly RegExp[], limits: DownloadLimits): Promise<void> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  const partial = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.part`);
  try {
    let current = url;
    let response: Response | null = null;
    for (let hop = 0; ; hop++) {
      response = await fetch(current, { redirect: 'manual', signal });
      if (response.status < 300 || response.status >= 400) break;
      await response.body?.cancel();
      const location = response.headers.get('location');
      if (location === null) throw new Error(`redirect (${response.status}) without a Location header`);
      if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      const next = canonicalUrl(new URL(location, current).href);
      if (!/^https?:/i.test(next) || !matchesAllowedUrls(next, allowedUrls)) {
        throw new Error(`redirect to ${next}, which does not match any allowed URL(s)`);
      }
      current = next;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${current}`);
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(length) && length > limits.maxBytes) {
      await response.body?.cancel();
      throw new Error(`the archive is larger than ${limits.maxBytes} bytes (Content-Length ${length})`);
    }
    if (response.body === null) throw new Error('the response has no body');
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    await pipeline(body, byteCap(limits.maxBytes), createWriteStream(partial, { flags: 'wx', mode: 0o644 }));
    // link() fails if `target` appeared meanwhile, so a concurrent registration is never overwritten.
    await fs.link(partial, target);
  } finally {
    await fs.rm(partial, { force: true });
  }
}

async function resolveUrl(url: string, store: string, opts: ResolveModelUrlOptions): Promise<ResolvedModelUrl> {
  if (!/^(file|https?):/i.test(url)) {
    // TorchServe's URL test also takes `fil://` (see URL_LIKE): refused as it refuses it.
    if (!matchesAllowedUrls(url, opts.allowedUrls)) throw notAllowed(url);
    throw downloadFailed(url, 'unsupported URL scheme');
  }
  const canonical = canonicalUrl(url);
  if (!matchesAllowedUrls(canonical, opts.allowedUrls)) throw notAllowed(url);
  if (canonical.startsWith('file:')) {
    let file: string;
    try {
      file = fileURLToPath(canonical);
    } catch (err) {
      throw downloadFailed(url, (err as Error).message);
    }
    const real = await realpathOrNull(file);
    if (real === null) throw downloadFailed(url, `${file} does not exist`);
    if (!(await localPathAllowed(file, real, store, opts.allowedUrls))) throw notAllowed(url);
    return { source: real, downloadedFile: null };
  }

  const fileName = fileNameFromUrl(canonical);
  if (fileName === '' || fileName === '.' || fileName === '..') {
    throw downloadFailed(url, 'the URL does not end with a file name');
  }
  const target = path.join(store, fileName);
  if ((await fs.lstat(target).catch(() => null)) !== null) {
    throw new InternalServerException(`Model file already exists ${fileName}`);
  }
  try {
    await download(canonical, target, opts.allowedUrls, opts.downloadLimits ?? DEFAULT_DOWNLOAD_LIMITS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InternalServerException(`Model file already exists ${fileName}`);
    throw downloadFailed(url, (err as Error).message);
  }
  return { source: target, downloadedFile: target };
}

/**
 * Resolves a register/load url. Errors: ModelNotFoundException (404) for a missing model store, `..`,
 * a URL or path not allowed, or nothing found; DownloadArchiveException (400) for a failed download or
 * an unreadable file URL; InternalServerException (500) when a download would overwrite a model-store file.
 */
export async function resolveModelUrl(url: string, opts: ResolveModelUrlOptions): Promise<ResolvedModelUrl> {
  if (opts.modelStore === null) throw new ModelNotFoundException('Model store has not been configured.');
  if (url === '') throw new ModelNotFoundException('empty url');
  if (url.includes('..')) throw relativePath(url);
  const store = path.resolve(opts.modelStore);

  if (isUrlLike(url)) return resolveUrl(url, store, opts);

  const fileName = fileNameFromUrl(url.replace(/[/\\]+$/, ''));
  const inStore = fileName === '' || fileName === '.' ? null : path.join(store, fileName);
  const storeEntry = inStore === null ? null : await statOrNull(inStore);
  if (inStore !== null && storeEntry?.isFile() === true) {
    await checkInsideStore(store, inStore, url);
    return { source: inStore, downloadedFile: null };
  }
  // A directory named by a path: served in place only inside the store or where allowed_urls allows
  // file:// (TorchServe serves any directory, which bypassed allowed_urls).
  const asPath = path.resolve(url);
  let outsideRefused = false;
  if ((await statOrNull(asPath))?.isDirectory() === true) {
    const real = await realpathOrNull(asPath);
    if (real !== null && (await localPathAllowed(asPath, real, store, opts.allowedUrls))) return { source: real, downloadedFile: null };
    outsideRefused = true;
  }
  if (inStore !== null && storeEntry?.isDirectory() === true) {
    await checkInsideStore(store, inStore, url);
    return { source: inStore, downloadedFile: null };
  }
  if (outsideRefused) throw notAllowed(url);
  throw new ModelNotFoundException(`Model not found at: ${url}`);
}
