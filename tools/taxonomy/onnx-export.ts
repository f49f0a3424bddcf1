/**
 * The bundled taxonomy models as ONNX: the sentence encoder (tools/tfjs-onnx) and the trained head in one
 * graph, with the Hugging Face sequence-classification interface (`input_ids`, `attention_mask` int64
 * [batch, sequence] → `logits` [batch, labels]), so that the built-in text_classifier serves it as it
 * serves any Hugging Face export, padding included: the head's piece bag averages over the tokens the
 * attention mask keeps, as the encoder does.
 */
import { attr, DataType, GraphBuilder } from '../modelgen/index.js';
import type { TfjsGraph } from '../tfjs-onnx/tfjs-graph.js';
import { buildUseEncoder } from '../tfjs-onnx/use-encoder.js';
import type { LinearHead } from './linear-head.js';

export function classifierToOnnx(tf: TfjsGraph, head: LinearHead, name: string, int8: boolean): Uint8Array {
  const g = new GraphBuilder(name);
  const enc = buildUseEncoder(g, tf, { int8 });
  if (enc.dim !== head.dim) throw new Error(`head expects ${head.dim} features, the encoder gives ${enc.dim}`);
  const weight = g.initializer('classifier.weight', [head.dim, head.classes], head.weight);
  const bias = g.initializer('classifier.bias', [head.classes], head.bias);
  let logits = g.op('Add', [g.op('MatMul', [enc.embeddings, weight], {}, '/classifier'), bias], {}, '/classifier');
  if (head.bag) {
    const table = g.initializer('classifier.pieces.weight', [head.bagVocab, head.classes], head.bag);
    const rows = g.op('Mul', [g.op('Gather', [table, enc.ids], { axis: attr.int(0) }, '/classifier/pieces'), enc.mask3], {}, '/classifier/pieces');
    const summed = g.op('ReduceSum', [rows, g.int64s([1])], { keepdims: attr.int(0) }, '/classifier/pieces');
    logits = g.op('Add', [logits, g.op('Div', [summed, enc.count], {}, '/classifier/pieces')], {}, '/classifier');
  }
  g.op('Identity', [logits], {}, '/classifier', 'logits');
  g.output('logits', DataType.FLOAT, ['batch_size', head.classes]);
  return g.encode({ producerName: 'ortserve-taxonomy', metadata: { architecture: 'universal-sentence-encoder-lite + linear head' } });
}
