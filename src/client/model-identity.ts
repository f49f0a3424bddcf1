/**
 * What exactly was evaluated: the model version that answered and its archive, from the management
 * API's describe (`GET /models/{name}[/{version}]`, the default version when none is named), and the
 * server's version, from the inference API's description (`GET /api-description`, whose `info.version`
 * TorchServe and ortserve both fill in). `archiveSha256` is an extra describe field of ortserve
 * (docs/compatibility.md); from TorchServe it is null.
 */

export interface ServedModel {
  name: string;
  version: string;
  /** Where the server loaded it from (describe's `modelUrl`). */
  url: string;
  /** SHA-256 of the archive file, hex; null for a model directory or a server that does not say. */
  archiveSha256: string | null;
}

/** A describe or description request that did not give an answer of the expected shape. */
export class IdentityError extends Error {}

const TIMEOUT_MS = 10_000;

async function getJson(url: string, token: string | null): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: token === null ? {} : { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new IdentityError(`GET ${url}: ${cause ?? (err as Error).message}`);
  }
  const body = await res.text();
  if (res.status !== 200) throw new IdentityError(`GET ${url}: ${res.status} ${errorText(body)}`);
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new IdentityError(`GET ${url}: not JSON: ${body.slice(0, 120)}`);
  }
}

/** TorchServe's `{"code", "type", "message"}` as `type: message`, else the body's start on one line. */
function errorText(body: string): string {
  try {
    const e = JSON.parse(body) as { type?: unknown; message?: unknown };
    if (typeof e.message === 'string') return typeof e.type === 'string' ? `${e.type}: ${e.message}` : e.message;
  } catch {
    // not JSON
  }
  return body.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** `name` or `name/version` as `-m` takes it → the describe URL. */
export function describeUrl(managementUrl: string, model: string): string {
  const parts = model.split('/').map(encodeURIComponent);
  return `${managementUrl.replace(/\/$/, '')}/models/${parts.join('/')}`;
}

export async function describeServedModel(managementUrl: string, token: string | null, model: string): Promise<ServedModel> {
  const url = describeUrl(managementUrl, model);
  const answer = await getJson(url, token);
  const d = (Array.isArray(answer) ? answer[0] : undefined) as Record<string, unknown> | undefined;
  if (typeof d?.modelName !== 'string' || typeof d.modelVersion !== 'string') {
    throw new IdentityError(`GET ${url}: expected [{"modelName", "modelVersion", …}]`);
  }
  const sha = d.archiveSha256;
  return {
    name: d.modelName,
    version: d.modelVersion,
    url: typeof d.modelUrl === 'string' ? d.modelUrl : '',
    archiveSha256: typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha) ? sha : null,
  };
}

export async function serverVersion(inferenceUrl: string, token: string | null): Promise<string> {
  const url = `${inferenceUrl.replace(/\/$/, '')}/api-description`;
  const answer = (await getJson(url, token)) as { info?: { version?: unknown } } | null;
  if (typeof answer?.info?.version !== 'string') throw new IdentityError(`GET ${url}: no info.version`);
  return answer.info.version;
}
