/**
 * Sentence embeddings of token id lists from an ONNX encoder (inputs input_ids / attention_mask, output
 * `embeddings`), in batches of similar length as the server's length-aware batcher forms them.
 */
import * as ort from 'onnxruntime-node';

export async function encodeAll(model: Uint8Array, sequences: number[][], batchSize = 32): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
  try {
    const order = sequences.map((_, i) => i).sort((a, b) => sequences[a]!.length - sequences[b]!.length);
    const out: Float32Array[] = new Array(sequences.length);
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = order.slice(start, start + batchSize);
      const len = Math.max(1, ...batch.map((i) => sequences[i]!.length));
      const ids = new BigInt64Array(batch.length * len);
      const mask = new BigInt64Array(batch.length * len);
      batch.forEach((seq, row) =>
        sequences[seq]!.forEach((id, j) => {
          ids[row * len + j] = BigInt(id);
          mask[row * len + j] = 1n;
        }),
      );
      const dims = [batch.length, len];
      const result = await session.run({ input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims) });
      const e = result['embeddings']!.data as Float32Array;
      const dim = e.length / batch.length;
      batch.forEach((seq, row) => (out[seq] = e.slice(row * dim, (row + 1) * dim)));
    }
    return out;
  } finally {
    await session.release();
  }
}
