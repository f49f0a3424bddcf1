/** Streaming answers, as TorchServe's `ts.handler_utils.utils` offers them to handlers (spec §1.6). */
import type { Context } from './context.js';
import type { ResponseValue } from './types.js';

/**
 * TorchServe's `send_intermediate_predict_response(ret, req_id_map, message, code, context)`, same
 * arguments in the same order: sends `ret[idx]` now to each request `idx` of `reqIdMap` (usually
 * `context.requestIds`) as one chunk of its answer; what `handle` returns afterwards is the last chunk.
 * `code` is the message's code: 200 for a part; anything else fails the whole batch with `message`.
 *
 * ```ts
 * import { sendIntermediatePredictResponse, type Context, type RequestRow } from 'ortserve';
 * export async function handle(data: RequestRow[] | null, ctx: Context) {
 *   if (data === null) return;
 *   for (const word of ['hello ', 'streaming ']) {
 *     sendIntermediatePredictResponse(data.map(() => word), ctx.requestIds, 'Intermediate Prediction success', 200, ctx);
 *   }
 *   return data.map(() => 'world');   // the client receives "hello streaming world" in three chunks
 * }
 * ```
 * Same as `context.sendIntermediateResponse(ret, reqIdMap, message, code)`.
 */
export function sendIntermediatePredictResponse(
  ret: ResponseValue[],
  reqIdMap: Record<number, string>,
  message: string,
  code: number,
  context: Context,
): void {
  context.sendIntermediateResponse(ret, reqIdMap, message, code);
}
