/**
 * The entry point of a worker thread: loads one model version's handler, then answers batches.
 * Everything slow (tokenization, ONNX Runtime's blocking `session.run`) happens here, never on the
 * HTTP thread. Errors follow TorchServe's backend (spec §1.7, §7).
 */
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { withEnvelope } from '../envelopes/index.js';
import { Context, type IntermediateMessage } from '../handler-api/context.js';
import type { HandleFunction, Handler, RequestRow, ResponseValue } from '../handler-api/types.js';
import { encodeResponse, toHandlerHeaders, toRequestRow, transferables, UnsupportedOutputError } from './codec.js';
import type { BatchError, BatchTelemetry, FromWorker, IntermediatePart, ToWorker, WireRequest, WireResponse, WorkerInit } from './messages.js';

type Entry = (data: RequestRow[], ctx: Context) => Promise<unknown>;

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('worker-main must run in a worker thread');
/** `transfer`: large encoded answers (codec.ts transferables), moved to the HTTP thread instead of copied. */
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

class HandlerLoadError extends Error {}

const MB = 1024 * 1024;
/** How often the thread looks at its external memory, besides after every batch. */
const MEMORY_CHECK_MS = 200;
let overMemory = false;

/**
 * True once this isolate's external memory (every Buffer and ArrayBuffer, heap-limit.ts) passed
 * maxExternalMb; the first time, the HTTP thread is told, answers the batch 507 and restarts the thread.
 * Measured here because only the isolate itself knows its own external memory.
 */
function overExternalLimit(): boolean {
  if (overMemory) return true;
  if (init.maxExternalMb <= 0) return false;
  const externalMb = getHeapStatistics().external_memory / MB;
  if (externalMb <= init.maxExternalMb) return false;
  overMemory = true;
  post({ type: 'memory-exceeded', externalMb: Math.round(externalMb), limitMb: init.maxExternalMb });
  return true;
}

function isClass(v: unknown): v is new () => Handler {
  return typeof v === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(v));
}

function isOutOfMemory(err: unknown): boolean {
  const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /out of memory|allocation failed|ERR_WORKER_OUT_OF_MEMORY/i.test(text);
}

/** TorchServe's model_loader rules: a function entry point, or exactly one class. */
async function loadEntry(ctx: Context): Promise<Entry> {
  const mod = (await import(pathToFileURL(init.handlerModule).href)) as Record<string, unknown>;
  const fnName = init.handlerFunction ?? 'handle';
  const fn = mod[fnName];
  if (typeof fn === 'function' && !isClass(fn)) {
    const handle = fn as HandleFunction;
    await handle(null, ctx);
    return async (data, c) => handle(data, c);
  }
  if (init.handlerFunction) throw new HandlerLoadError(`Handler module has no function ${init.handlerFunction}`);
  const classes = [...new Set(Object.values(mod).filter(isClass))];
  if (classes.length !== 1) {
    throw new HandlerLoadError(
      `Expected only one class in custom service code or a function entry point [${classes.map((c) => c.name).join(', ')}]`,
    );
  }
  const Cls = classes[0]!;
  const instance = new Cls();
  if (typeof instance.handle !== 'function') throw new HandlerLoadError(`Expect handle method in class ${Cls.name}`);
  await instance.initialize?.(ctx);
  return async (data, c) => instance.handle(data, c);
}

function batchError(err: unknown): BatchError {
  // Duck-typed: a handler bundled with its own copy of the API still throws a recognisable error.
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  if (err instanceof Error && err.name === 'PredictionException' && typeof code === 'number') {
    return { status: code, message: err.message };
  }
  if (err instanceof UnsupportedOutputError) return { status: 503, message: 'Unsupported model output data type.' };
  if (isOutOfMemory(err)) return { status: 507, message: 'Out of resources' };
  return { status: 503, message: 'Prediction failed' };
}

/** The batch's report and metric updates, once the handler is done with it. */
function telemetry(ctx: Context, handlerMs: number): BatchTelemetry {
  return { report: ctx.observations.take(handlerMs), metrics: ctx.metrics.takeUpdates() };
}

/**
 * Streaming (spec §1.6): a `sendIntermediateResponse` call becomes one 'intermediate' message, posted at
 * once; the port keeps the order, so every part reaches the HTTP thread before the batch's result.
 * Encoding errors are thrown to the handler, as they would be for its returned value.
 */
function intermediateSink(batchId: number, size: number): (m: IntermediateMessage) => void {
  return (m) => {
    const parts: IntermediatePart[] =
      m.code === 200
        ? m.parts.map(({ index, value, settings: s }) => ({
            index,
            response: { status: s.status, phrase: s.phrase, contentType: s.contentType, headers: s.headers, body: encodeResponse(value) },
          }))
        : Array.from({ length: size }, (_, index) => ({ index, error: { status: m.code, message: m.message } }));
    post({ type: 'intermediate', batchId, parts }, transferables(parts.flatMap((p) => ('response' in p ? [p.response.body] : []))));
  };
}

async function runBatch(entry: Entry, ctx: Context, requests: WireRequest[], batchId: number): Promise<[WireResponse[] | BatchError, BatchTelemetry]> {
  ctx.startBatch(
    requests.map((r) => r.requestId),
    requests.map(toHandlerHeaders),
  );
  ctx.setIntermediateSink(intermediateSink(batchId, requests.length));
  const rows = requests.map((r) => toRequestRow(r, init.decodeInputRequest));
  let output: unknown;
  const start = performance.now();
  try {
    output = await entry(rows, ctx);
  } catch (err) {
    console.error(`[${init.info.modelName}] handler error:`, err);
    return [batchError(err), telemetry(ctx, performance.now() - start)];
  } finally {
    ctx.setIntermediateSink(null);
  }
  const handlerMs = performance.now() - start;
  // TorchServe's service.py reports HandlerTime (rounded to 0.01 ms) after a handler call that returned.
  ctx.metrics.addTime('HandlerTime', Math.round(handlerMs * 100) / 100, null, 'ms');
  return [encodeOutput(output, ctx, requests), telemetry(ctx, handlerMs)];
}

function encodeOutput(output: unknown, ctx: Context, requests: WireRequest[]): WireResponse[] | BatchError {
  if (!Array.isArray(output)) return { status: 503, message: 'Invalid model predict output' };
  if (output.length !== requests.length) return { status: 503, message: 'number of batch response mismatched' };
  const settings = ctx.responseSettings();
  try {
    return (output as ResponseValue[]).map((value, i) => {
      const s = settings[i]!;
      // A streamed request's last part says the stream ends (TorchServe's create_predict_response).
      const headers = s.headers['ts_stream_next'] === 'true' ? { ...s.headers, ts_stream_next: 'false' } : s.headers;
      return { status: s.status, phrase: s.phrase, contentType: s.contentType, headers, body: encodeResponse(value) };
    });
  } catch (err) {
    return batchError(err);
  }
}

async function main(): Promise<void> {
  const ctx = new Context(init.info, init.declaredMetrics);
  let entry: Entry;
  try {
    entry = withEnvelope(await loadEntry(ctx), init.serviceEnvelope);
  } catch (err) {
    console.error(`[${init.info.modelName}] failed to load the handler:`, err);
    // The message reaches the management client: name files relative to the archive, not the server's directories.
    const message = (err instanceof Error ? err.message : String(err)).split(init.info.systemProperties.model_dir + path.sep).join('');
    post({ type: 'load-failed', status: isOutOfMemory(err) ? 507 : 500, message });
    return;
  }
  if (init.maxExternalMb > 0 && getHeapStatistics().external_memory / MB > init.maxExternalMb) {
    post({ type: 'load-failed', status: 507, message: `Out of resources: loading kept more than maxWorkerExternalMb (${init.maxExternalMb} MB)` });
    return;
  }
  setInterval(overExternalLimit, MEMORY_CHECK_MS).unref();
  port!.on('message', (msg: ToWorker) => {
    void runBatch(entry, ctx, msg.requests, msg.batchId).then(([result, telemetry]) => {
      if (overExternalLimit()) return;
      if (Array.isArray(result)) post({ type: 'result', batchId: msg.batchId, responses: result, telemetry }, transferables(result.map((r) => r.body)));
      else post({ type: 'batch-failed', batchId: msg.batchId, error: result, telemetry });
    });
  });
  post({ type: 'loaded', metrics: ctx.metrics.takeUpdates() });
}

void main();
