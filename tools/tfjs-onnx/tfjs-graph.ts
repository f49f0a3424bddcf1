/**
 * Reads a TensorFlow.js graph model (`model.json` + its binary weight shards) into plain data: the graph's
 * nodes (name, op, inputs, attributes) and every weight by name as a typed array. Frozen TF.js graphs
 * store their constants (weights, but also scalars such as a layer norm's epsilon) in the shards, so the
 * converter reads both kinds through `weight()`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface TfNode {
  name: string;
  op: string;
  /** Input tensor names (`node` or `node:k`; control inputs `^node` are dropped). */
  inputs: string[];
}

export interface TfWeight {
  name: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

interface ModelJson {
  modelTopology: { node: Array<{ name: string; op: string; input?: string[] }> };
  weightsManifest: Array<{ paths: string[]; weights: ManifestEntry[] }>;
}

export class TfjsGraph {
  readonly nodes: Map<string, TfNode>;
  private readonly weights: Map<string, TfWeight>;

  private constructor(nodes: Map<string, TfNode>, weights: Map<string, TfWeight>) {
    this.nodes = nodes;
    this.weights = weights;
  }

  /** Loads `model.json` and its shards from `dir`. Only unquantized float32 / int32 weights are supported. */
  static load(dir: string): TfjsGraph {
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as ModelJson;
    const nodes = new Map<string, TfNode>();
    for (const n of json.modelTopology.node) {
      nodes.set(n.name, { name: n.name, op: n.op, inputs: (n.input ?? []).filter((i) => !i.startsWith('^')) });
    }
    const weights = new Map<string, TfWeight>();
    for (const group of json.weightsManifest) {
      const buf = Buffer.concat(group.paths.map((p) => readFileSync(path.join(dir, p))));
      let offset = 0;
      for (const w of group.weights) {
        if (w.quantization !== undefined) throw new Error(`weight ${w.name}: quantized TF.js weights are not supported`);
        if (w.dtype !== 'float32' && w.dtype !== 'int32') throw new Error(`weight ${w.name}: dtype ${w.dtype} is not supported`);
        const count = w.shape.reduce((a, b) => a * b, 1);
        // Copy: the shard buffer's offset need not be 4-byte aligned for a typed array view.
        const bytes = buf.subarray(offset, offset + count * 4);
        if (bytes.length !== count * 4) throw new Error(`weight ${w.name}: the shards end before its data`);
        const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
        weights.set(w.name, { name: w.name, shape: w.shape, data: w.dtype === 'float32' ? new Float32Array(ab) : new Int32Array(ab) });
        offset += count * 4;
      }
      if (offset !== buf.length) throw new Error(`weights manifest covers ${offset} of ${buf.length} bytes`);
    }
    return new TfjsGraph(nodes, weights);
  }

  /** The node whose name ends with `suffix` (exactly one must). */
  node(suffix: string): TfNode {
    const found = [...this.nodes.values()].filter((n) => n.name === suffix || n.name.endsWith(`/${suffix}`));
    if (found.length !== 1) throw new Error(`expected one node named …/${suffix}, found ${found.length}`);
    return found[0]!;
  }

  /** The constant feeding input `index` of the node named …/`suffix`, checked against `shape`. */
  input(suffix: string, index: number, shape?: number[]): TfWeight {
    const n = this.node(suffix);
    const name = n.inputs[index];
    if (name === undefined) throw new Error(`${n.name} has no input ${index}`);
    return this.weight(name, shape);
  }

  weight(name: string, shape?: number[]): TfWeight {
    const w = this.weights.get(name);
    if (!w) throw new Error(`${name} is not a constant of the graph`);
    if (shape && (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i]))) {
      throw new Error(`${name}: shape [${w.shape}] where [${shape}] was expected`);
    }
    return w;
  }

  /** A scalar constant's value. */
  scalar(name: string): number {
    const w = this.weight(name);
    if (w.data.length !== 1) throw new Error(`${name} is not a scalar`);
    return w.data[0]!;
  }
}

export function floats(w: TfWeight): Float32Array {
  if (!(w.data instanceof Float32Array)) throw new Error(`${w.name} is not float32`);
  return w.data;
}
