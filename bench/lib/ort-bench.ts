/**
 * What the raw loop shares with the weight-sharing probe: sessions opened the way the server opens them,
 * the corpus tokenized by the server's own tokenizer code (@huggingface/transformers over the archive's
 * tokenizer files, truncated at 210), and the padded feeds of a batch.
 */
import ort from 'onnxruntime-node';
import { buildFeeds, type IdType } from '../../src/handlers/text/batch.js';
import { loadTextTokenizer } from '../../src/handlers/text/tokenizer.js';
import { MAX_LENGTH } from './corpus.js';

/** src/handler-api/base-handler.ts `sessionOptions`, with the thread count as a parameter. */
export function serverSessionOptions(threads: number, extraSession: Record<string, string> = {}): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, ...extraSession } },
  };
}

export interface TokenizedCorpus {
  ids: number[][];
  padTokenId: number;
}

export function tokenizeCorpus(modelDir: string, texts: readonly string[], maxLength = MAX_LENGTH): TokenizedCorpus {
  const tokenizer = loadTextTokenizer(modelDir);
  return { ids: texts.map((t) => tokenizer.encode(t, maxLength)), padTokenId: tokenizer.padTokenId };
}

/** The declared inputs of a session, typed as the server's text_classifier types them. */
export function sessionInputs(session: ort.InferenceSession): Map<string, IdType> {
  const inputs = new Map<string, IdType>();
  for (const meta of session.inputMetadata) inputs.set(meta.name, meta.isTensor && meta.type === 'int32' ? 'int32' : 'int64');
  return inputs;
}

/** One `session.run` over the given sequences, padded to the longest; returns its duration in ms. */
export async function runBatch(
  session: ort.InferenceSession,
  inputs: ReadonlyMap<string, IdType>,
  sequences: number[][],
  padTokenId: number,
): Promise<number> {
  const t0 = performance.now();
  const feeds = buildFeeds(sequences, inputs, padTokenId);
  const out = await session.run(feeds);
  const t1 = performance.now();
  for (const v of Object.values(out)) v.dispose?.();
  return t1 - t0;
}

export const ORT_VERSION: string = ort.env.versions.common;
