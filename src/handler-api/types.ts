import type { Manifest } from '../archive/types.js';
import type { Context } from './context.js';

/**
 * One decoded request value, as TorchServe delivers it (spec §1.4): parsed JSON for application/json,
 * a string for text/*, bytes for anything else (also when there was no Content-Type).
 */
export type RequestValue = unknown;

/** One request of a batch: `{ body: value }` for a raw body, or one key per form field. */
export type RequestRow = Record<string, RequestValue>;

/** What a handler may return per request: text and bytes are sent as they are, anything else as JSON. */
export type ResponseValue = unknown;

/** `context.systemProperties`, as TorchServe's Context has them, plus ortserve's thread budget. */
export interface SystemProperties {
  model_dir: string;
  gpu_id: null;
  batch_size: number;
  server_name: 'MMS';
  server_version: string;
  limit_max_image_pixels: boolean;
  /** ortserve: ONNX Runtime intra-op threads this worker may use. */
  intra_op_threads: number;
  /**
   * ortserve: where the version's shared ORT-format model files live (`openModelSession`); null when the
   * version's workers each load a private copy of the weights (model-config.yaml `sharedWeights: false`).
   */
  shared_weights_dir?: string | null;
}

/** Everything a worker knows about the model version it serves. */
export interface ModelInfo {
  modelName: string;
  modelVersion: string;
  manifest: Manifest;
  systemProperties: SystemProperties;
  /** The whole model-config.yaml ({} without one). */
  modelYamlConfig: Record<string, unknown>;
}

/** A class-style handler: `initialize` once per worker, then `handle` per batch. */
export interface Handler {
  initialize?(context: Context): void | Promise<void>;
  handle(data: RequestRow[], context: Context): ResponseValue[] | Promise<ResponseValue[]>;
}

/**
 * A function-style handler, as TorchServe calls `module.handle`: once with `data === null` to
 * initialise, then with each batch.
 */
export type HandleFunction = (
  data: RequestRow[] | null,
  context: Context,
) => ResponseValue[] | null | undefined | void | Promise<ResponseValue[] | null | undefined | void>;
