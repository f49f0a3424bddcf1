/** What an envelope is: per request, unwrap the body into handler items, and wrap the outputs back. */

/** A request's contribution to the handler's batch, or the error it is answered with (status 400). */
export type Unwrapped = { items: unknown[]; id: string | null; inputNames?: string[] } | { error: string };

/** What `wrap` knows about the request it answers. */
export interface WrapRequest {
  /** The request's `id` field (v2), or null. */
  id: string | null;
  /** The frontend's request id (`x-request-id`). */
  requestId: string;
  /** The names of the request's input tensors (v2), which TorchServe gives its output tensors. */
  inputNames: string[];
  /** The `explain` header is "True" (explanations routes). */
  explain: boolean;
  modelName: string;
  modelVersion: string;
}

export interface Envelope {
  readonly name: string;
  unwrap(row: Record<string, unknown>): Unwrapped;
  /** `outputs`: the handler's outputs for this request's items, in order. */
  wrap(outputs: unknown[], request: WrapRequest): unknown;
  /** The body of a request that `unwrap` rejected. */
  errorBody(message: string): unknown;
}
