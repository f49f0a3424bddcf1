/**
 * The taxonomy model: an embedding bag (the mean of the token embeddings under the attention mask)
 * and a linear layer, trained with softmax cross-entropy and Adam. fastText showed that this shape is
 * a strong baseline for topic labels of short texts, and it trains on a CPU in seconds. Written out
 * here because it is ~150 lines of arithmetic; a training framework for Node (tfjs) would be a large
 * dependency for one matrix product and its gradient.
 */
import { mulberry32, normalArray, shuffleInPlace } from '../modelgen/rng.js';

export interface BagModel {
  vocabSize: number;
  dim: number;
  classes: number;
  /** [vocabSize, dim] row-major. */
  embeddings: Float32Array;
  /** [dim, classes] row-major, as ONNX MatMul takes it. */
  weight: Float32Array;
  bias: Float32Array;
}

export interface Example {
  ids: number[];
  label: number;
}

export interface TrainOptions {
  dim: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the linear layer. */
  weightDecay: number;
  /** Share of a text's tokens dropped at random in each training step (regularisation). */
  tokenDropout: number;
  seed: number;
}

/** Chosen on the validation split (a grid over dim 16-128, learning rate and token dropout). */
export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  dim: 64,
  epochs: 60,
  batchSize: 16,
  learningRate: 0.01,
  weightDecay: 1e-4,
  tokenDropout: 0.4,
  seed: 7,
};

export function newModel(vocabSize: number, dim: number, classes: number, seed: number): BagModel {
  return {
    vocabSize,
    dim,
    classes,
    embeddings: normalArray(vocabSize * dim, 0.1, seed),
    weight: normalArray(dim * classes, 0.05, seed + 1),
    bias: new Float32Array(classes),
  };
}

function pooled(m: BagModel, ids: readonly number[], out: Float32Array): void {
  out.fill(0);
  for (const id of ids) {
    const row = id * m.dim;
    for (let d = 0; d < m.dim; d++) out[d]! += m.embeddings[row + d]!;
  }
  const n = Math.max(1, ids.length);
  for (let d = 0; d < m.dim; d++) out[d]! /= n;
}

/** Softmax probabilities of one token sequence, as the exported ONNX graph computes them. */
export function predictProbabilities(m: BagModel, ids: readonly number[]): Float64Array {
  const h = new Float32Array(m.dim);
  pooled(m, ids, h);
  return probabilitiesOf(m, h);
}

/** Softmax probabilities from a pooled vector `h`. */
function probabilitiesOf(m: BagModel, h: Float32Array): Float64Array {
  const logits = new Float64Array(m.classes);
  for (let c = 0; c < m.classes; c++) {
    let z = m.bias[c]!;
    for (let d = 0; d < m.dim; d++) z += h[d]! * m.weight[d * m.classes + c]!;
    logits[c] = z;
  }
  const max = Math.max(...logits);
  let sum = 0;
  for (let c = 0; c < m.classes; c++) sum += logits[c] = Math.exp(logits[c]! - max);
  for (let c = 0; c < m.classes; c++) logits[c]! /= sum;
  return logits;
}

export function predict(m: BagModel, ids: readonly number[]): number {
  const p = predictProbabilities(m, ids);
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
  return best;
}

/** Adam over one parameter tensor. */
class Adam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;
  constructor(
    private readonly params: Float32Array,
    private readonly lr: number,
  ) {
    this.m = new Float32Array(params.length);
    this.v = new Float32Array(params.length);
  }
  step(grad: Float32Array, rows?: Iterable<number>, width = 1): void {
    this.t++;
    const c1 = 1 - 0.9 ** this.t;
    const c2 = 1 - 0.999 ** this.t;
    const update = (i: number): void => {
      const g = grad[i]!;
      this.m[i] = 0.9 * this.m[i]! + 0.1 * g;
      this.v[i] = 0.999 * this.v[i]! + 0.001 * g * g;
      this.params[i]! -= (this.lr * (this.m[i]! / c1)) / (Math.sqrt(this.v[i]! / c2) + 1e-8);
      grad[i] = 0;
    };
    if (!rows) for (let i = 0; i < this.params.length; i++) update(i);
    // Embeddings: only the rows this batch touched (lazy Adam), or an epoch would cost vocab × dim per step.
    else for (const r of rows) for (let d = 0; d < width; d++) update(r * width + d);
  }
}

/**
 * Trains on `train` and returns the model of the epoch with the best score on `validation`
 * (`score` is given the validation predictions and labels; higher is better).
 */
export function trainBagModel(
  vocabSize: number,
  classes: number,
  train: readonly Example[],
  validation: readonly Example[],
  score: (predicted: number[], actual: number[]) => number,
  o: TrainOptions = DEFAULT_TRAIN_OPTIONS,
): { model: BagModel; bestEpoch: number; bestScore: number } {
  const m = newModel(vocabSize, o.dim, classes, o.seed);
  const rand = mulberry32(o.seed + 2);
  const gEmb = new Float32Array(m.embeddings.length);
  const gW = new Float32Array(m.weight.length);
  const gB = new Float32Array(m.bias.length);
  const optEmb = new Adam(m.embeddings, o.learningRate);
  const optW = new Adam(m.weight, o.learningRate);
  const optB = new Adam(m.bias, o.learningRate);
  const h = new Float32Array(o.dim);
  let best = { model: cloneModel(m), bestEpoch: 0, bestScore: -Infinity };
  const order = train.map((_, i) => i);
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    shuffleInPlace(order, rand);
    for (let start = 0; start < order.length; start += o.batchSize) {
      const batch = order.slice(start, start + o.batchSize);
      const touched = new Set<number>();
      for (const idx of batch) {
        const ex = train[idx]!;
        const ids = ex.ids.filter(() => rand() >= o.tokenDropout);
        const used = ids.length > 0 ? ids : ex.ids;
        pooled(m, used, h);
        const p = probabilitiesOf(m, h);
        p[ex.label]! -= 1; // dLoss/dlogits of softmax cross-entropy
        const scale = 1 / batch.length;
        const gh = new Float32Array(o.dim);
        for (let c = 0; c < classes; c++) {
          const g = p[c]! * scale;
          gB[c]! += g;
          for (let d = 0; d < o.dim; d++) {
            gW[d * classes + c]! += h[d]! * g;
            gh[d]! += m.weight[d * classes + c]! * g;
          }
        }
        for (const id of used) {
          touched.add(id);
          for (let d = 0; d < o.dim; d++) gEmb[id * o.dim + d]! += gh[d]! / used.length;
        }
      }
      for (let i = 0; i < gW.length; i++) gW[i]! += o.weightDecay * m.weight[i]!;
      optEmb.step(gEmb, touched, o.dim);
      optW.step(gW);
      optB.step(gB);
    }
    const s = score(
      validation.map((ex) => predict(m, ex.ids)),
      validation.map((ex) => ex.label),
    );
    if (s > best.bestScore) best = { model: cloneModel(m), bestEpoch: epoch, bestScore: s };
  }
  return best;
}

function cloneModel(m: BagModel): BagModel {
  return { ...m, embeddings: m.embeddings.slice(), weight: m.weight.slice(), bias: m.bias.slice() };
}
