/** The messages between the HTTP thread and a worker thread. Plain data, cheap to structured-clone. */
import type { MetricDeclaration, MetricUpdate } from '../handler-api/metrics.js';
import type { BatchReport } from '../handler-api/observations.js';
import type { ModelInfo } from '../handler-api/types.js';

/** One request parameter, as TorchServe's frontend hands it to the backend (spec §1.3). */
export interface WireParameter {
  name: string;
  /** MIME type without parameters; null when the request had none (form attributes, no Content-Type). */
  contentType: string | null;
  value: Uint8Array;
}

export interface WireRequest {
  requestId: string;
  /** HTTP request headers plus `url_path`, `explain`, `describe`. */
  headers: Record<string, string>;
  parameters: WireParameter[];
}

/** One encoded answer of a batch. */
export interface WireResponse {
  status: number;
  phrase: string;
  contentType: string | null;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Given to the worker thread as `workerData`. */
export interface WorkerInit {
  info: ModelInfo;
  /** Absolute path of the (compiled) handler module to import. */
  handlerModule: string;
  /** The export to call for function handlers (`file:function`), default `handle`. */
  handlerFunction: string | null;
  decodeInputRequest: boolean;
  /** metrics.yaml's `model_metrics`, declared in the handler's `context.metrics`. */
  declaredMetrics: MetricDeclaration[];
  /** `service_envelope` (kserve, kservev2) wrapping the handler's entry point, or null. */
  serviceEnvelope: string | null;
  /** Bound of the thread's external memory (Buffers, ArrayBuffers) in MB, checked by the thread itself; 0 = none. */
  maxExternalMb: number;
}

/** What a batch's handler run reported, sent with its answer or its failure. */
export interface BatchTelemetry {
  report: BatchReport;
  /** The handler's `context.metrics` updates, HandlerTime and PredictionTime included. */
  metrics: MetricUpdate[];
}

export type ToWorker = { type: 'predict'; batchId: number; requests: WireRequest[] };

/** A failure that applies to every request of a batch (TorchServe sends the same error to all). */
export interface BatchError {
  status: number;
  message: string;
}

/**
 * One request's part of an intermediate message (streaming, spec §1.6): `index` is the request's place
 * in the batch. `error` when the handler sent a code other than 200: that request fails with it.
 */
export type IntermediatePart = { index: number; response: WireResponse } | { index: number; error: BatchError };

export type FromWorker =
  /** `metrics`: what the handler recorded in `context.metrics` while loading. */
  | { type: 'loaded'; metrics: MetricUpdate[] }
  | { type: 'load-failed'; status: number; message: string }
  /** `sendIntermediatePredictResponse` during a batch: sent at once, before the batch's result. */
  | { type: 'intermediate'; batchId: number; parts: IntermediatePart[] }
  | { type: 'result'; batchId: number; responses: WireResponse[]; telemetry: BatchTelemetry }
  | { type: 'batch-failed'; batchId: number; error: BatchError; telemetry: BatchTelemetry }
  /** The thread's external memory passed `maxExternalMb`: it posts nothing more and waits to be ended. */
  | { type: 'memory-exceeded'; externalMb: number; limitMb: number };
