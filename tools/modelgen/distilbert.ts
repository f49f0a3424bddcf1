/**
 * A DistilBERT sequence classifier as an ONNX graph, with the interface of an optimum /
 * `torch.onnx.export` export (`input_ids`, `attention_mask` → `logits`) and random weights drawn from a
 * seed. The structure follows `DistilBertForSequenceClassification`, so ONNX Runtime sees (and fuses)
 * the same kind of graph as for a real fine-tuned model, and timings are representative.
 */
import { DataType } from './onnx-proto.js';
import { GraphBuilder, attr } from './graph.js';
import { DynamicQuantizer } from './quantize.js';
import { deriveSeed, normalArray } from './rng.js';

export type ModelDtype = 'fp32' | 'int8';

export interface DistilBertOptions {
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  vocabSize: number;
  numLabels: number;
  maxPosition: number;
  seed?: number;
  dtype?: ModelDtype;
  /** Also declare a `token_type_ids` input (BERT-style segment embeddings), as BERT exports do. */
  tokenTypeIds?: boolean;
  /** Standard deviation of the random weights (BERT's `initializer_range`, 0.02). */
  initializerRange?: number;
}

/** Model sizes without labels (the caller names the labels). */
export type DistilBertPreset = Omit<DistilBertOptions, 'numLabels'>;

export const PRESETS: Record<'tiny' | 'base', DistilBertPreset> = {
  // A few hundred KB: fast enough to create in every test.
  tiny: { layers: 2, hidden: 32, heads: 2, ffn: 64, vocabSize: 800, maxPosition: 128 },
  // distilbert-base-uncased dimensions.
  base: { layers: 6, hidden: 768, heads: 12, ffn: 3072, vocabSize: 30522, maxPosition: 512 },
};

/** torch.finfo(torch.float32).min, the value DistilBERT fills masked attention scores with. */
const MASK_FILL = -3.4028234663852886e38;
const LAYER_NORM_EPS = 1e-12;

/** Number of trainable parameters (before any quantization). */
export function distilBertParameterCount(o: DistilBertOptions): number {
  const { hidden: h, ffn: f, vocabSize: v, maxPosition: p, numLabels: c, layers } = o;
  const embeddings = v * h + p * h + (o.tokenTypeIds ? 2 * h : 0) + 2 * h;
  const layer = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h;
  const head = h * h + h + h * c + c;
  return embeddings + layers * layer + head;
}

function validate(o: DistilBertOptions): void {
  for (const key of ['layers', 'hidden', 'heads', 'ffn', 'vocabSize', 'numLabels', 'maxPosition'] as const) {
    const value = o[key];
    if (!Number.isInteger(value) || value < 1) throw new Error(`${key} must be a positive integer, got ${value}`);
  }
  if (o.hidden % o.heads !== 0) throw new Error(`hidden (${o.hidden}) must be divisible by heads (${o.heads})`);
}

/** Builds the graph and returns the serialized ONNX model. */
export function generateDistilBert(options: DistilBertOptions): Uint8Array {
  return buildDistilBertGraph(options).encode({
    opset: 17,
    metadata: { model_type: 'distilbert', generator: 'ortserve-modelgen', seed: String(options.seed ?? 0) },
  });
}

/** The graph builder, before serialization (exposed for inspection). */
export function buildDistilBertGraph(options: DistilBertOptions): GraphBuilder {
  validate(options);
  const o = { seed: 0, dtype: 'fp32' as ModelDtype, initializerRange: 0.02, ...options };
  const { hidden: H, heads, ffn: F } = o;
  const headDim = H / heads;
  const g = new GraphBuilder('main_graph');
  const int8 = o.dtype === 'int8';
  const quantizer = int8 ? new DynamicQuantizer(g) : null;

  const random = (name: string, length: number): Float32Array => normalArray(length, o.initializerRange, deriveSeed(o.seed, name));
  const param = (name: string, dims: number[], data: Float32Array): string => g.initializer(name, dims, data);
  // Biases and LayerNorm parameters are small random values (a tenth of the weights' spread) rather
  // than BERT's initial 0 and 1: identical constants would be merged by ONNX Runtime, which changes which
  // fusions apply; kept small so that the logits depend on the text more than on the biases.
  const small = (name: string, n: number): Float32Array => random(name, n).map((v) => v / 10);
  const gamma = (name: string, n: number): string => param(name, [n], small(name, n).map((v) => 1 + v));
  const beta = (name: string, n: number): string => param(name, [n], small(name, n));

  /** nn.Linear(inF, outF): weight stored as [in, out] for MatMul; int8 when quantizing. */
  const linear = (x: string, name: string, inF: number, outF: number, prefix: string): string => {
    const w = random(`${name}.weight`, inF * outF);
    const b = beta(`${name}.bias`, outF);
    if (quantizer) return quantizer.linear(x, `${name}.weight`, w, [inF, outF], b, prefix);
    return g.linear(x, param(`${name}.weight`, [inF, outF], w), b, prefix);
  };
  const embedding = (name: string, rows: number, indices: string, prefix: string): string => {
    const table = random(name, rows * H);
    if (quantizer) return quantizer.gather(name, table, [rows, H], indices, prefix);
    return g.op('Gather', [param(name, [rows, H], table), indices], {}, prefix);
  };

  // Inputs, with the dynamic axes optimum declares.
  const inputIds = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']);
  const tokenTypes = o.tokenTypeIds ? g.input('token_type_ids', DataType.INT64, ['batch_size', 'sequence_length']) : null;

  // Embeddings: word + position (+ token type), then LayerNorm.
  const pe = '/distilbert/embeddings';
  const words = embedding('distilbert.embeddings.word_embeddings.weight', o.vocabSize, inputIds, `${pe}/word_embeddings`);
  const shape = g.op('Shape', [inputIds], {}, pe);
  const seqLen = g.op('Gather', [shape, g.int64Scalar(1)], { axis: attr.int(0) }, pe);
  const positionIds = g.op('Range', [g.int64Scalar(0), seqLen, g.int64Scalar(1)], {}, pe);
  const positions = embedding('distilbert.embeddings.position_embeddings.weight', o.maxPosition, positionIds, `${pe}/position_embeddings`);
  let emb = g.op('Add', [words, positions], {}, pe);
  if (tokenTypes) {
    const types = embedding('distilbert.embeddings.token_type_embeddings.weight', 2, tokenTypes, `${pe}/token_type_embeddings`);
    emb = g.op('Add', [emb, types], {}, pe);
  }
  let x = g.layerNorm(emb, gamma('distilbert.embeddings.LayerNorm.weight', H), beta('distilbert.embeddings.LayerNorm.bias', H), LAYER_NORM_EPS, `${pe}/LayerNorm`);

  // Additive mask bias [B, 1, 1, L]: 0 where attended, float32 min where masked.
  const pm = '/distilbert/transformer/mask';
  const maskF = g.op('Cast', [attentionMask], { to: attr.int(DataType.FLOAT) }, pm);
  const inverted = g.op('Sub', [g.floatScalar(1), maskF], {}, pm);
  const bias2d = g.op('Mul', [inverted, g.floatScalar(MASK_FILL)], {}, pm);
  const maskBias = g.op('Unsqueeze', [bias2d, g.int64s([1, 2])], {}, pm);

  const splitHeads = g.int64s([0, 0, heads, headDim]);
  const mergeHeads = g.int64s([0, 0, H]);
  const sqrtHeadDim = g.floatScalar(Math.sqrt(headDim));

  for (let i = 0; i < o.layers; i++) {
    const name = `distilbert.transformer.layer.${i}`;
    const pl = `/distilbert/transformer/layer.${i}`;
    const pa = `${pl}/attention`;
    // Multi-head self-attention, as DistilBERT's MultiHeadSelfAttention.forward.
    const toHeads = (t: string, perm: number[]): string =>
      g.op('Transpose', [g.op('Reshape', [t, splitHeads], {}, pa)], { perm: attr.ints(perm) }, pa);
    const q = toHeads(linear(x, `${name}.attention.q_lin`, H, H, `${pa}/q_lin`), [0, 2, 1, 3]);
    const kT = toHeads(linear(x, `${name}.attention.k_lin`, H, H, `${pa}/k_lin`), [0, 2, 3, 1]);
    const v = toHeads(linear(x, `${name}.attention.v_lin`, H, H, `${pa}/v_lin`), [0, 2, 1, 3]);
    const qScaled = g.op('Div', [q, sqrtHeadDim], {}, pa);
    const scores = g.op('Add', [g.op('MatMul', [qScaled, kT], {}, pa), maskBias], {}, pa);
    const weights = g.op('Softmax', [scores], { axis: attr.int(-1) }, pa);
    const context = g.op('MatMul', [weights, v], {}, pa);
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: attr.ints([0, 2, 1, 3]) }, pa), mergeHeads], {}, pa);
    const attnOut = linear(merged, `${name}.attention.out_lin`, H, H, `${pa}/out_lin`);
    x = g.layerNorm(
      g.op('Add', [attnOut, x], {}, pl),
      gamma(`${name}.sa_layer_norm.weight`, H),
      beta(`${name}.sa_layer_norm.bias`, H),
      LAYER_NORM_EPS,
      `${pl}/sa_layer_norm`,
    );
    // Feed-forward with exact (Erf) GELU.
    const pf = `${pl}/ffn`;
    const hiddenF = g.geluErf(linear(x, `${name}.ffn.lin1`, H, F, `${pf}/lin1`), `${pf}/activation`);
    const ffnOut = linear(hiddenF, `${name}.ffn.lin2`, F, H, `${pf}/lin2`);
    x = g.layerNorm(
      g.op('Add', [ffnOut, x], {}, pl),
      gamma(`${name}.output_layer_norm.weight`, H),
      beta(`${name}.output_layer_norm.bias`, H),
      LAYER_NORM_EPS,
      `${pl}/output_layer_norm`,
    );
  }

  // Classification head on the first token ([CLS]).
  const cls = g.op('Gather', [x, g.int64Scalar(0)], { axis: attr.int(1) }, '/Gather_cls');
  const pooled = g.op('Relu', [linear(cls, 'pre_classifier', H, H, '/pre_classifier')], {}, '/pre_classifier');
  const logitsRaw = linear(pooled, 'classifier', H, o.numLabels, '/classifier');
  g.op('Identity', [logitsRaw], {}, '/classifier', 'logits');
  g.output('logits', DataType.FLOAT, ['batch_size', o.numLabels]);
  return g;
}
