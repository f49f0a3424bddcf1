/**
 * Dynamic int8 quantization in the form onnxruntime's `quantize_dynamic` writes it, so that ONNX Runtime
 * applies the same fusions (DynamicQuantizeMatMul / MatMulIntegerToFloat) as on an optimum export:
 *
 *   x ─DynamicQuantizeLinear→ (x_q uint8, x_scale, x_zp)
 *   MatMulInteger(x_q, W_q int8, x_zp, W_zp) → int32 ─Cast→ float ─Mul(x_scale · W_scale)→ y
 *
 * Weights are int8, symmetric, per tensor (zero point 0, range ±127, as onnxruntime does for QInt8
 * weights). Embedding tables read by Gather are uint8, asymmetric, followed by DequantizeLinear.
 */
import { DataType } from './onnx-proto.js';
import { attr, type GraphBuilder } from './graph.js';

export interface QuantizedInt8 {
  values: Int8Array;
  scale: number;
}

export interface QuantizedUint8 {
  values: Uint8Array;
  scale: number;
  zeroPoint: number;
}

/** Symmetric per-tensor int8: scale = max|w| / 127, zero point 0. */
export function quantizeInt8Symmetric(w: Float32Array): QuantizedInt8 {
  let absMax = 0;
  for (let i = 0; i < w.length; i++) absMax = Math.max(absMax, Math.abs(w[i] as number));
  const scale = absMax > 0 ? absMax / 127 : 1;
  const values = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    values[i] = Math.max(-127, Math.min(127, Math.round((w[i] as number) / scale)));
  }
  return { values, scale };
}

/** Asymmetric per-tensor uint8 over [min(w, 0), max(w, 0)], as onnxruntime quantizes activations. */
export function quantizeUint8Asymmetric(w: Float32Array): QuantizedUint8 {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < w.length; i++) {
    const v = w[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-lo / scale)));
  const values = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    values[i] = Math.max(0, Math.min(255, Math.round((w[i] as number) / scale) + zeroPoint));
  }
  return { values, scale, zeroPoint };
}

/**
 * Emits the quantized form of MatMul/Add linear layers into a graph. One DynamicQuantizeLinear per
 * activation is shared by every MatMul that reads it (Q, K and V read the same hidden state), as
 * onnxruntime's quantizer does.
 */
export class DynamicQuantizer {
  private readonly graph: GraphBuilder;
  private readonly activations = new Map<string, [string, string, string]>();

  constructor(graph: GraphBuilder) {
    this.graph = graph;
  }

  /** `x @ W + b` with W ([in, out], fp32) stored as int8. */
  linear(x: string, weightName: string, weight: Float32Array, dims: [number, number], bias: string | null, prefix: string): string {
    const g = this.graph;
    const q = quantizeInt8Symmetric(weight);
    const wq = g.initializer(`${weightName}_quantized`, dims, q.values);
    const wScale = g.initializer(`${weightName}_scale`, [], Float32Array.of(q.scale), false);
    const wZero = g.initializer(`${weightName}_zero_point`, [], Int8Array.of(0), false);
    const [xq, xScale, xZero] = this.quantizeActivation(x, prefix);
    const acc = g.op('MatMulInteger', [xq, wq, xZero, wZero], {}, `${prefix}_quant`);
    const accF = g.op('Cast', [acc], { to: attr.int(DataType.FLOAT) }, `${prefix}_output_quantized_cast`);
    const scales = g.op('Mul', [xScale, wScale], {}, `${prefix}_quant_scales_mul`);
    const y = g.op('Mul', [accF, scales], {}, `${prefix}_quant_output_scale_mul`);
    return bias ? g.op('Add', [y, bias], {}, prefix) : y;
  }

  /** `Gather(table, indices)` on a uint8 table, dequantized after the lookup (4× smaller tables). */
  gather(tableName: string, table: Float32Array, dims: [number, number], indices: string, prefix: string): string {
    const g = this.graph;
    const q = quantizeUint8Asymmetric(table);
    const tq = g.initializer(`${tableName}_quantized`, dims, q.values);
    const scale = g.initializer(`${tableName}_scale`, [], Float32Array.of(q.scale), false);
    const zero = g.initializer(`${tableName}_zero_point`, [], Uint8Array.of(q.zeroPoint), false);
    const gathered = g.op('Gather', [tq, indices], {}, prefix);
    return g.op('DequantizeLinear', [gathered, scale, zero], {}, prefix);
  }

  private quantizeActivation(x: string, prefix: string): [string, string, string] {
    const cached = this.activations.get(x);
    if (cached) return cached;
    const outs = this.graph.node('DynamicQuantizeLinear', [x], {
      outputs: [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`],
      prefix: `${prefix}_QuantizeLinear`,
    });
    const triple: [string, string, string] = [outs[0] as string, outs[1] as string, outs[2] as string];
    this.activations.set(x, triple);
    return triple;
  }
}


/**
 * Weight-only int8: each [in, out] weight stored as int8 with one symmetric scale per output column,
 * dequantized in the graph (DequantizeLinear, axis 1) and multiplied in float. Unlike dynamic
 * quantization, whose activation scale is taken over the whole batch, a row's result does not depend on
 * the other rows of its batch, so a batched request gets the answer it gets alone.
 */
export function weightOnlyInt8Linear(g: GraphBuilder, x: string, name: string, w: Float32Array, [inF, outF]: [number, number], bias: string | null, prefix: string): string {
  const scales = new Float32Array(outF);
  for (let o = 0; o < outF; o++) {
    let absMax = 0;
    for (let i = 0; i < inF; i++) absMax = Math.max(absMax, Math.abs(w[i * outF + o]!));
    scales[o] = absMax > 0 ? absMax / 127 : 1;
  }
  const values = new Int8Array(w.length);
  for (let i = 0; i < inF; i++) {
    for (let o = 0; o < outF; o++) values[i * outF + o] = Math.max(-127, Math.min(127, Math.round(w[i * outF + o]! / scales[o]!)));
  }
  const wq = g.initializer(`${name}_quantized`, [inF, outF], values);
  const scale = g.initializer(`${name}_scale`, [outF], scales, false);
  const zero = g.initializer(`${name}_zero_point`, [outF], new Int8Array(outF), false);
  const weight = g.op('DequantizeLinear', [wq, scale, zero], { axis: attr.int(1) }, prefix);
  return g.linear(x, weight, bias, prefix);
}
