/**
 * Writes a BagModel as ONNX with DistilBERT's sequence-classification interface (`input_ids`,
 * `attention_mask` int64 [batch, sequence] → `logits` [batch, labels]), so that the built-in
 * text_classifier serves it exactly as it would serve a real DistilBERT export, padding included:
 * the mean runs over the tokens the attention mask keeps.
 */
import { attr, DataType, GraphBuilder } from '../modelgen/index.js';
import type { BagModel } from './bag-model.js';

export function bagModelToOnnx(m: BagModel, name: string): Uint8Array {
  const g = new GraphBuilder(name);
  const ids = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']);
  const table = g.initializer('embeddings.word_embeddings.weight', [m.vocabSize, m.dim], m.embeddings);
  const weight = g.initializer('classifier.weight', [m.dim, m.classes], m.weight);
  const bias = g.initializer('classifier.bias', [m.classes], m.bias);

  const emb = g.op('Gather', [table, ids], { axis: attr.int(0) }, '/embeddings'); // [b, s, d]
  const maskF = g.op('Cast', [mask], { to: attr.int(DataType.FLOAT) }, '/pool'); // [b, s]
  const mask3 = g.op('Unsqueeze', [maskF, g.int64s([2])], {}, '/pool'); // [b, s, 1]
  const summed = g.op('ReduceSum', [g.op('Mul', [emb, mask3], {}, '/pool'), g.int64s([1])], { keepdims: attr.int(0) }, '/pool');
  const count = g.op('ReduceSum', [maskF, g.int64s([1])], { keepdims: attr.int(1) }, '/pool'); // [b, 1]
  const mean = g.op('Div', [summed, g.op('Max', [count, g.floatScalar(1)], {}, '/pool')], {}, '/pool');
  const logits = g.op('Add', [g.op('MatMul', [mean, weight], {}, '/classifier'), bias], {}, '/classifier', 'logits');
  g.output(logits, DataType.FLOAT, ['batch_size', m.classes]);
  return g.encode({ producerName: 'ortserve-taxonomy', metadata: { architecture: 'embedding-bag + linear' } });
}
