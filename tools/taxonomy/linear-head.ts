/**
 * The classification head on the sentence encoder: softmax regression on the 512-d embedding, plus an
 * optional bag of SentencePiece pieces (a [vocab, classes] table whose rows, averaged over the text's
 * pieces, add to the logits). The bag sees the surface form the frozen encoder was never trained on
 * (Spanish words, names), as TF-IDF over character n-grams does, in the same graph and from the same
 * input_ids. Trained with softmax cross-entropy, L2 penalties and Adam; deterministic from a seed.
 */
import { mulberry32, shuffleInPlace } from '../modelgen/rng.js';

export interface HeadExample {
  embedding: Float32Array;
  /** Piece ids as the served tokenizer gives them (after truncation). */
  ids: number[];
  label: number;
}

export interface HeadOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the embedding weights. */
  l2: number;
  /** Size of the piece table, 0 for no bag branch. */
  bagVocab: number;
  /** L2 penalty on the piece table. */
  bagL2: number;
  seed: number;
}

export interface LinearHead {
  dim: number;
  classes: number;
  /** [dim, classes] row-major, as ONNX MatMul takes it. */
  weight: Float32Array;
  bias: Float32Array;
  /** [bagVocab, classes], or null without a bag branch. */
  bag: Float32Array | null;
  bagVocab: number;
}

export function headLogits(h: LinearHead, ex: Pick<HeadExample, 'embedding' | 'ids'>): Float64Array {
  const z = new Float64Array(h.classes);
  for (let c = 0; c < h.classes; c++) z[c] = h.bias[c]!;
  for (let d = 0; d < h.dim; d++) {
    const x = ex.embedding[d]!;
    for (let c = 0; c < h.classes; c++) z[c]! += x * h.weight[d * h.classes + c]!;
  }
  if (h.bag && ex.ids.length > 0) {
    const inv = 1 / ex.ids.length;
    for (const id of ex.ids) for (let c = 0; c < h.classes; c++) z[c]! += h.bag[id * h.classes + c]! * inv;
  }
  return z;
}

export function headPredict(h: LinearHead, ex: Pick<HeadExample, 'embedding' | 'ids'>): number {
  const z = headLogits(h, ex);
  let best = 0;
  for (let c = 1; c < z.length; c++) if (z[c]! > z[best]!) best = c;
  return best;
}

function softmaxInPlace(z: Float64Array): void {
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let sum = 0;
  for (let c = 0; c < z.length; c++) sum += z[c] = Math.exp(z[c]! - max);
  for (let c = 0; c < z.length; c++) z[c]! /= sum;
}

class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  constructor(
    private readonly params: Float32Array,
    private readonly lr: number,
  ) {
    this.m = new Float64Array(params.length);
    this.v = new Float64Array(params.length);
  }
  step(grad: Float64Array): void {
    this.t++;
    const c1 = 1 - 0.9 ** this.t;
    const c2 = 1 - 0.999 ** this.t;
    for (let i = 0; i < this.params.length; i++) {
      const g = grad[i]!;
      if (g === 0 && this.m[i] === 0) continue;
      this.m[i] = 0.9 * this.m[i]! + 0.1 * g;
      this.v[i] = 0.999 * this.v[i]! + 0.001 * g * g;
      this.params[i]! -= (this.lr * (this.m[i]! / c1)) / (Math.sqrt(this.v[i]! / c2) + 1e-8);
      grad[i] = 0;
    }
  }
}

export function trainLinearHead(train: readonly HeadExample[], classes: number, o: HeadOptions): LinearHead {
  const dim = train[0]!.embedding.length;
  const h: LinearHead = {
    dim,
    classes,
    weight: new Float32Array(dim * classes),
    bias: new Float32Array(classes),
    bag: o.bagVocab > 0 ? new Float32Array(o.bagVocab * classes) : null,
    bagVocab: o.bagVocab,
  };
  const gW = new Float64Array(h.weight.length);
  const gB = new Float64Array(classes);
  const gT = h.bag ? new Float64Array(h.bag.length) : null;
  const optW = new Adam(h.weight, o.learningRate);
  const optB = new Adam(h.bias, o.learningRate);
  const optT = h.bag ? new Adam(h.bag, o.learningRate) : null;
  const rand = mulberry32(o.seed);
  const order = train.map((_, i) => i);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    shuffleInPlace(order, rand);
    for (let start = 0; start < order.length; start += o.batchSize) {
      const batch = order.slice(start, start + o.batchSize);
      const scale = 1 / batch.length;
      for (const idx of batch) {
        const ex = train[idx]!;
        const p = headLogits(h, ex);
        softmaxInPlace(p);
        p[ex.label]! -= 1;
        for (let c = 0; c < classes; c++) {
          const g = p[c]! * scale;
          gB[c]! += g;
          for (let d = 0; d < dim; d++) gW[d * classes + c]! += ex.embedding[d]! * g;
          if (gT && ex.ids.length > 0) for (const id of ex.ids) gT[id * classes + c]! += g / ex.ids.length;
        }
      }
      for (let i = 0; i < gW.length; i++) gW[i]! += o.l2 * h.weight[i]!;
      if (gT && h.bag) for (let i = 0; i < gT.length; i++) if (h.bag[i] !== 0 || gT[i] !== 0) gT[i]! += o.bagL2 * h.bag[i]!;
      optW.step(gW);
      optB.step(gB);
      if (optT && gT) optT.step(gT);
    }
  }
  return h;
}
