/**
 * The handler API: the one module handler authors import (`import { BaseHandler, Context } from 'ortserve'`).
 * A handler module exports either `handle(data, context)` (called once with `data === null` to
 * initialise, as TorchServe does) or exactly one class with `initialize(context)` and `handle(data, context)`.
 */
export { Context, type IntermediateMessage, type IntermediateSink, type ResponseSettings } from './context.js';
export { sendIntermediatePredictResponse } from './streaming.js';
export { CachingMetric, Dimension, MetricsCache, MetricsCacheError, MetricTypes, type MetricDeclaration, type MetricType, type MetricUpdate } from './metrics.js';
export { BatchObservations, type BatchReport, type HandlerPhase } from './observations.js';
export { BaseHandler, PredictionException, loadIndexToName, sessionOptions } from './base-handler.js';
export { openModelSession } from './model-session.js';
export type {
  HandleFunction,
  Handler,
  ModelInfo,
  RequestRow,
  RequestValue,
  ResponseValue,
  SystemProperties,
} from './types.js';
