/**
 * A small ONNX graph builder: declare inputs, outputs and initializers, add nodes, then `toModel()`.
 * Names of intermediate values are generated (`<prefix>/<Op>_<n>`), so layer code reads like the
 * PyTorch forward it mirrors. Everything is encoded by `encodeModel` in onnx-proto.ts.
 */
import os from 'node:os';
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeProtoData,
  type DataTypeCode,
  type DimensionData,
  type ModelProtoData,
  type NodeProtoData,
  type TensorProtoData,
  type ValueInfoProtoData,
} from './onnx-proto.js';

if (os.endianness() !== 'LE') {
  // raw_data must be little-endian; typed arrays use the host order, so a big-endian host would need swapping.
  throw new Error('modelgen writes raw_data from typed arrays and needs a little-endian host');
}

/** A typed attribute value; use the `attr` helpers to build one. */
export type AttrValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'tensor'; value: TensorProtoData };

/** Attribute constructors: ONNX attributes are typed, and a JS number cannot say whether it is 1 or 1.0. */
export const attr = {
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
  floats: (value: number[]): AttrValue => ({ kind: 'floats', value }),
  ints: (value: number[]): AttrValue => ({ kind: 'ints', value }),
  tensor: (value: TensorProtoData): AttrValue => ({ kind: 'tensor', value }),
};

export type TensorData = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/** A dimension: a fixed size, or a named dynamic axis (`dim_param`). */
export type Dim = number | string;

function dataTypeOf(data: TensorData): DataTypeCode {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int32Array) return DataType.INT32;
  return DataType.INT64;
}

/** A TensorProto whose values are stored as little-endian `raw_data` (no copy of the typed array). */
export function tensorProto(name: string, dims: number[], data: TensorData): TensorProtoData {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(`tensor ${name}: ${data.length} values for dims [${dims.join(', ')}]`);
  }
  return {
    name,
    dims,
    data_type: dataTypeOf(data),
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function toAttribute(name: string, value: AttrValue): AttributeProtoData {
  switch (value.kind) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: value.value };
    case 'int':
      return { name, type: AttributeType.INT, i: value.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.value) };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: value.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: value.value };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: value.value };
  }
}

function valueInfo(name: string, elemType: DataTypeCode, dims: Dim[]): ValueInfoProtoData {
  const dim: DimensionData[] = dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } } };
}

export interface ModelOptions {
  opset?: number;
  /** Extra opsets, e.g. `{ 'com.microsoft': 1 }`. */
  extraOpsets?: Record<string, number>;
  producerName?: string;
  producerVersion?: string;
  metadata?: Record<string, string>;
}

export class GraphBuilder {
  readonly name: string;
  private readonly nodes: NodeProtoData[] = [];
  private readonly initializers: TensorProtoData[] = [];
  private readonly inputs: ValueInfoProtoData[] = [];
  private readonly outputs: ValueInfoProtoData[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  private readonly constants = new Map<string, string>();
  /** Number of float/int8 values stored in initializers (the "parameter count"). */
  parameterCount = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Declares a graph input. */
  input(name: string, elemType: DataTypeCode, dims: Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares a graph output, produced by some node under the same name. */
  output(name: string, elemType: DataTypeCode, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Adds a constant tensor (weights); counts towards `parameterCount` unless `isParameter` is false. */
  initializer(name: string, dims: number[], data: TensorData, isParameter = true): string {
    this.claim(name);
    this.initializers.push(tensorProto(name, dims, data));
    if (isParameter) this.parameterCount += data.length;
    return name;
  }

  /** A small shared constant (shape, axes, scalar), deduplicated by value. */
  constant(data: TensorData, dims: number[] = [data.length]): string {
    const values = Array.from(data as ArrayLike<number | bigint>, (v) => String(v)).join(',');
    const key = `${dataTypeOf(data)}|${dims.join('x')}|${values}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = this.uniqueName('const', 'Constant');
    this.initializer(name, dims, data, false);
    this.constants.set(key, name);
    return name;
  }

  /** int64 1-D constant (shapes, axes, indices). */
  int64s(values: number[]): string {
    return this.constant(BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** int64 scalar constant. */
  int64Scalar(value: number): string {
    return this.constant(BigInt64Array.of(BigInt(value)), []);
  }

  /** float scalar constant. */
  floatScalar(value: number): string {
    return this.constant(Float32Array.of(value), []);
  }

  /**
   * Adds a node. `outputs` is a list of names, or a count of outputs to name automatically under
   * `prefix`. Returns the output names.
   */
  node(
    opType: string,
    inputs: string[],
    options: { outputs?: string[] | number; attrs?: Record<string, AttrValue>; prefix?: string; domain?: string } = {},
  ): string[] {
    const prefix = options.prefix ?? '';
    const nodeName = this.uniqueName(prefix, opType);
    const outs =
      typeof options.outputs === 'object'
        ? options.outputs
        : Array.from({ length: options.outputs ?? 1 }, (_, i) => `${nodeName}_output_${i}`);
    for (const o of outs) this.claim(o);
    this.nodes.push({
      input: inputs,
      output: outs,
      name: nodeName,
      op_type: opType,
      domain: options.domain ?? '',
      attribute: Object.entries(options.attrs ?? {}).map(([k, v]) => toAttribute(k, v)),
    });
    return outs;
  }

  /** A node with exactly one output; returns its name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, prefix = '', output?: string): string {
    const outputs = output ? [output] : 1;
    const [out] = this.node(opType, inputs, { attrs, prefix, outputs });
    return out as string;
  }

  /** `x @ weight + bias` as torch.onnx exports nn.Linear: weight stored transposed as [in, out]. */
  linear(x: string, weight: string, bias: string | null, prefix: string): string {
    const y = this.op('MatMul', [x, weight], {}, prefix);
    return bias ? this.op('Add', [y, bias], {}, prefix) : y;
  }

  /** LayerNormalization over the last axis (opset 17). */
  layerNorm(x: string, gamma: string, beta: string, epsilon: number, prefix: string, output?: string): string {
    return this.op('LayerNormalization', [x, gamma, beta], { axis: attr.int(-1), epsilon: attr.float(epsilon) }, prefix, output);
  }

  /** GELU in the exact Erf form torch exports: 0.5 · x · (1 + erf(x / √2)). */
  geluErf(x: string, prefix: string): string {
    const scaled = this.op('Div', [x, this.floatScalar(Math.SQRT2)], {}, prefix);
    const erf = this.op('Erf', [scaled], {}, prefix);
    const onePlus = this.op('Add', [erf, this.floatScalar(1)], {}, prefix);
    const prod = this.op('Mul', [x, onePlus], {}, prefix);
    return this.op('Mul', [prod, this.floatScalar(0.5)], {}, prefix);
  }

  toModel(options: ModelOptions = {}): ModelProtoData {
    const opset = options.opset ?? 17;
    return {
      // IR 8 is the first IR version that carries opset 17 (LayerNormalization).
      ir_version: 8,
      opset_import: [
        { domain: '', version: opset },
        ...Object.entries(options.extraOpsets ?? {}).map(([domain, version]) => ({ domain, version })),
      ],
      producer_name: options.producerName ?? 'ortserve-modelgen',
      producer_version: options.producerVersion ?? '0.1.0',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  /** Serialized ModelProto bytes. */
  encode(options: ModelOptions = {}): Uint8Array {
    return encodeModel(this.toModel(options));
  }

  /** Count of nodes of an op type (for summaries and tests). */
  countNodes(opType: string): number {
    return this.nodes.filter((n) => n.op_type === opType).length;
  }

  private uniqueName(prefix: string, opType: string): string {
    let name: string;
    do {
      name = `${prefix ? `${prefix}/` : '/'}${opType}_${this.counter++}`;
    } while (this.names.has(name));
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`duplicate value name in graph: ${name}`);
    this.names.add(name);
  }
}
