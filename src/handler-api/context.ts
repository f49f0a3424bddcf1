import type { Manifest } from '../archive/types.js';
import { MetricsCache, type MetricDeclaration } from './metrics.js';
import { BatchObservations } from './observations.js';
import type { ModelInfo, ResponseValue, SystemProperties } from './types.js';

/** Per-request response settings a handler may change (spec §7, `ts/context.py`). */
export interface ResponseSettings {
  status: number;
  phrase: string;
  contentType: string | null;
  headers: Record<string, string>;
}

/**
 * One call of `sendIntermediateResponse`, as the worker receives it: the message-level `code` and
 * `message` (TorchServe's), and one part per request named in the request-id map, with its value and
 * its response settings at the time of the call.
 */
export interface IntermediateMessage {
  code: number;
  message: string;
  parts: Array<{ index: number; value: ResponseValue; settings: ResponseSettings }>;
}

/** Where the worker sends intermediate messages while a batch runs (installed per batch by the worker). */
export type IntermediateSink = (message: IntermediateMessage) => void;

/**
 * What a handler knows about its model and the batch it is handling. Mirrors TorchServe's
 * `ts.context.Context`, in TypeScript naming: `get_request_header` is `getRequestHeader`, and so on.
 * A worker keeps one Context and resets the per-batch parts before each batch.
 */
export class Context {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly manifest: Manifest;
  readonly systemProperties: SystemProperties;
  readonly modelYamlConfig: Record<string, unknown>;
  /** `{batchIndex: requestId}` for the batch being handled. */
  requestIds: Record<number, string> = {};
  /** TorchServe's handler metrics API (`context.metrics`; handler-api/metrics.ts). */
  readonly metrics: MetricsCache;
  /** ortserve's batch observations: phase times, input tokens, predicted labels (handler-api/observations.ts). */
  readonly observations = new BatchObservations();
  private requestHeaders: Array<Record<string, unknown>> = [];
  private responses: ResponseSettings[] = [];
  private intermediateSink: IntermediateSink | null = null;

  /** `declaredMetrics`: metrics.yaml's `model_metrics`, which `metrics.getMetric` finds. */
  constructor(info: ModelInfo, declaredMetrics: readonly MetricDeclaration[] = []) {
    this.metrics = new MetricsCache(info.modelName, declaredMetrics);
    this.modelName = info.modelName;
    this.modelVersion = info.modelVersion;
    this.manifest = info.manifest;
    this.systemProperties = info.systemProperties;
    this.modelYamlConfig = info.modelYamlConfig;
  }

  /** Called by the worker before each batch; handlers do not call it. */
  startBatch(requestIds: string[], headers: Array<Record<string, unknown>>): void {
    this.requestIds = Object.fromEntries(requestIds.map((id, i) => [i, id]));
    this.metrics.setRequestIds(this.requestIds);
    this.metrics.takeUpdates();
    this.observations.reset();
    this.requestHeaders = headers;
    this.responses = requestIds.map(() => ({ status: 200, phrase: '', contentType: null, headers: {} }));
  }

  /** Called by the worker around each batch (null after it); handlers do not call it. */
  setIntermediateSink(sink: IntermediateSink | null): void {
    this.intermediateSink = sink;
  }

  /**
   * Streaming (TorchServe's `send_intermediate_predict_response`, spec §1.6): sends `ret[idx]` at once
   * to each request `idx` of `reqIdMap` (default: the whole batch), as one part of a chunked answer,
   * before `handle` returns. Call it any number of times; what `handle` returns is the last part.
   *
   * Each part is encoded like a returned value (strings as UTF-8, bytes as they are, anything else as
   * JSON) and carries the request's current status, content type and headers, plus the header
   * `ts_stream_next: true`, which stays set, so the final answer carries `ts_stream_next: false`. The
   * first part fixes the HTTP status and headers of the answer. `code` other than 200 fails every
   * request of the batch with `{"code": code, "type": "InternalServerException", "message": message}`,
   * as TorchServe's frontend does. Throws outside `handle`.
   */
  sendIntermediateResponse(ret: ResponseValue[], reqIdMap: Record<number, string> = this.requestIds, message = '', code = 200): void {
    const sink = this.intermediateSink;
    if (!sink) throw new Error('sendIntermediateResponse can only be called while a batch is being handled');
    const batchIndex = new Map(Object.entries(this.requestIds).map(([i, id]) => [id, Number(i)]));
    const parts: IntermediateMessage['parts'] = [];
    for (const [key, requestId] of Object.entries(reqIdMap)) {
      const idx = Number(key);
      const index = batchIndex.get(requestId);
      if (index === undefined) throw new RangeError(`request ${requestId} is not in the batch being handled`);
      if (code === 200) this.setResponseHeader(index, 'ts_stream_next', 'true');
      const r = this.response(index);
      parts.push({ index, value: ret[idx], settings: { ...r, headers: { ...r.headers } } });
    }
    sink({ code, message, parts });
  }

  /** The response settings of the batch, read by the worker after `handle`. */
  responseSettings(): readonly ResponseSettings[] {
    return this.responses;
  }

  getRequestId(idx = 0): string | undefined {
    return this.requestIds[idx];
  }

  /** A request header, exact name match as TorchServe does; parameters map to `{"content-type": ct}`. */
  getRequestHeader(idx: number, key: string): unknown {
    return this.requestHeaders[idx]?.[key];
  }

  getAllRequestHeaders(idx: number): Record<string, unknown> {
    return { ...(this.requestHeaders[idx] ?? {}) };
  }

  setResponseContentType(idx: number, value: string): void {
    this.response(idx).contentType = value;
  }

  getResponseContentType(idx: number): string | null {
    return this.response(idx).contentType;
  }

  setResponseStatus(code = 200, phrase = '', idx = 0): void {
    const r = this.response(idx);
    r.status = code;
    r.phrase = phrase;
  }

  setAllResponseStatus(code = 200, phrase = ''): void {
    for (let i = 0; i < this.responses.length; i++) this.setResponseStatus(code, phrase, i);
  }

  getResponseStatus(idx: number): number {
    return this.response(idx).status;
  }

  setResponseHeader(idx: number, key: string, value: string): void {
    this.response(idx).headers[key] = value;
  }

  getResponseHeaders(idx: number): Record<string, string> {
    return { ...this.response(idx).headers };
  }

  private response(idx: number): ResponseSettings {
    const r = this.responses[idx];
    if (!r) throw new RangeError(`no request at batch index ${idx}`);
    return r;
  }
}
