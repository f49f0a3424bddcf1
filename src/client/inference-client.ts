/**
 * A small client of the inference API for the built-in text_classifier: one text per request, as
 * `{"text", "top_k"}` JSON, answered with `[{"label", "score"}, …]` best first.
 *
 * A 503 (no worker yet, or a full queue) and a failed connection are retried with exponential
 * back-off; every other answer is final. The retry loop is written here rather than taken from a
 * package (p-retry and the like) because what counts as retryable is specific to this API: the status
 * code, the socket error codes, and that only the successful attempt's time is reported as latency.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { AnswerShapeError, labelsFromAnswer } from './answer-field.js';

export interface Prediction {
  label: string;
  score: number;
}

export interface ClassifyResult {
  /** Best first; as many as top_k asked for; empty when the answer's field held null (no label). */
  predictions: Prediction[];
  /** Request to end of answer, for the attempt that succeeded (back-off waits excluded). */
  latencyMs: number;
  /** 1 when the first attempt succeeded. */
  attempts: number;
}

export interface ClientOptions {
  /** The inference address, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  token: string | null;
  /** Retries after the first attempt (so at most retries + 1 attempts). */
  retries: number;
  /** The first back-off; each later one doubles, up to maxBackoffMs (defaults 100 and 5000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** No answer within this time fails the request, without a retry (default 120 000). */
  timeoutMs?: number;
  /** Open connections at most: the caller's concurrency. */
  maxSockets: number;
  /** Called before each back-off wait (first time: attempt 1). */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  model: string;
  attempt: number;
  delayMs: number;
  reason: string;
}

/** An answer other than 200, in TorchServe's error shape when the server gave one. */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** No answer: refused, reset, timed out, or an answer that is not a label list. */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Socket errors worth another attempt: the server is starting, restarting, or closed an idle connection. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** `name` or `name/version` → the prediction path. */
export function predictionPath(model: string): string {
  const [name, ...version] = model.split('/');
  const parts = [name ?? '', ...(version.length > 0 ? [version.join('/')] : [])];
  return `/predictions/${parts.map(encodeURIComponent).join('/')}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class InferenceClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  /** Attempts that were retried, over the client's life (reported by the CLIs). */
  retried = 0;

  constructor(private readonly options: ClientOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new Error(`the server URL must be http:// or https://, not ${options.baseUrl}`);
    }
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.agent = this.base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /**
   * Classifies one text; `topK` null asks for every label. `field` is the path of the label list
   * inside an answer that is an object (answer-field.ts).
   */
  async classify(model: string, text: string, topK: number | null, field: readonly string[] | null = null): Promise<ClassifyResult> {
    const body = JSON.stringify(topK === null ? { text } : { text, top_k: topK });
    for (let attempt = 1; ; attempt++) {
      try {
        const { status, payload, latencyMs } = await this.post(predictionPath(model), body);
        if (status === 200) return { predictions: parsePredictions(payload, field), latencyMs, attempts: attempt };
        throw toServerError(status, payload);
      } catch (err) {
        const reason = retryReason(err);
        if (reason === null || attempt > this.options.retries) throw err;
        // Doubling with jitter, so that many requests refused together do not come back together.
        const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (attempt - 1));
        const delayMs = Math.round(ceiling * (0.5 + Math.random() / 2));
        this.retried++;
        this.options.onRetry?.({ model, attempt, delayMs, reason });
        await sleep(delayMs);
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private post(pathname: string, body: string): Promise<{ status: number; payload: string; latencyMs: number }> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + pathname, this.base);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    if (this.options.token !== null) headers.Authorization = `Bearer ${this.options.token}`;
    const transport = url.protocol === 'https:' ? https : http;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method: 'POST', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, payload: Buffer.concat(chunks).toString('utf8'), latencyMs: performance.now() - started }),
        );
        res.on('error', (err) => reject(toConnectionError(err)));
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new ConnectionError(`no answer from ${url.origin} in ${this.timeoutMs / 1000} s`, 'ETIMEDOUT')));
      req.on('error', (err) => reject(toConnectionError(err)));
      req.end(body);
    });
  }
}

/** Why `err` deserves another attempt, or null when it does not. */
function retryReason(err: unknown): string | null {
  if (err instanceof ServerError) return err.status === 503 ? `503 ${err.message}` : null;
  if (err instanceof ConnectionError) return RETRYABLE_CODES.has(err.code) ? err.message : null;
  return null;
}

function toConnectionError(err: Error): ConnectionError {
  if (err instanceof ConnectionError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? 'ECONNRESET';
  return new ConnectionError(`${code}: ${err.message}`, code);
}

/** TorchServe's `{"code", "type", "message"}`, or the raw body when the server sent something else. */
function toServerError(status: number, payload: string): ServerError {
  try {
    const e = JSON.parse(payload) as { type?: unknown; message?: unknown };
    if (typeof e.message === 'string') return new ServerError(status, typeof e.type === 'string' ? e.type : '', e.message);
  } catch {
    // not JSON: fall through
  }
  return new ServerError(status, '', payload.slice(0, 200) || `HTTP ${status}`);
}

function parsePredictions(payload: string, field: readonly string[] | null): Prediction[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    parsed = payload;
  }
  try {
    return labelsFromAnswer(parsed, field);
  } catch (err) {
    if (err instanceof AnswerShapeError) throw new ServerError(200, 'UnexpectedAnswer', err.message);
    throw err;
  }
}
