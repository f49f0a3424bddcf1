/**
 * The TF.js → ONNX conversion of the Universal Sentence Encoder lite and its tokenizer.json, against the
 * reference implementation (@energetic-ai/embeddings running the package's TF.js graph in JavaScript).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { buildFeeds } from '../../src/handlers/text/batch.js';
import { prepareText } from '../../src/handlers/text/event-cleaning.js';
import { eventText, readListings, readSplit } from '../../tools/taxonomy/dataset.js';
import { headLogits, type LinearHead } from '../../tools/taxonomy/linear-head.js';
import { classifierToOnnx } from '../../tools/taxonomy/onnx-export.js';
import { loadReference, modelPackageDir, referenceEmbeddings, referenceIds, type ReferenceModel } from '../../tools/tfjs-onnx/reference.js';
import { readVocabulary, sentencePieceTokenizerFiles } from '../../tools/tfjs-onnx/sentencepiece-tokenizer.js';
import { TfjsGraph } from '../../tools/tfjs-onnx/tfjs-graph.js';
import { useEncoderOnnx } from '../../tools/tfjs-onnx/use-encoder.js';
import { normalArray } from '../../tools/modelgen/rng.js';

const FEEDS = new Map([
  ['input_ids', 'int64'],
  ['attention_mask', 'int64'],
] as const);

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

async function run(session: ort.InferenceSession, sequences: number[][], output: string): Promise<Float32Array[]> {
  const out = await session.run(buildFeeds(sequences, FEEDS, 0));
  const data = out[output]!.data as Float32Array;
  const width = data.length / sequences.length;
  return sequences.map((_, i) => data.slice(i * width, (i + 1) * width));
}

describe('the Universal Sentence Encoder lite converted to ONNX', () => {
  let tf: TfjsGraph;
  let reference: ReferenceModel;
  // English and Spanish test listings of many lengths (some longer than the encoder's 128 pieces).
  const all = readSplit('test').map(eventText);
  const byLength = [...all].sort((a, b) => a.length - b.length);
  const texts = [...all.filter((_, i) => i % 6 === 0), byLength[0]!, byLength[1]!, byLength.at(-1)!, byLength.at(-2)!];
  let ids: number[][];
  let expected: number[][];

  before(async () => {
    tf = TfjsGraph.load(modelPackageDir());
    reference = await loadReference();
    ids = texts.map((t) => referenceIds(reference, t));
    expected = await referenceEmbeddings(reference, texts, 1);
  });

  it('gives the reference embeddings (cosine ≥ 0.9999), each text alone and all in one padded batch', async () => {
    assert.ok(texts.length >= 20 && ids.some((s) => s.length > 128) && ids.some((s) => s.length < 40));
    const session = await ort.InferenceSession.create(useEncoderOnnx(tf, { int8: false }));
    const batched = await run(session, ids, 'embeddings');
    for (let i = 0; i < texts.length; i++) {
      const [single] = await run(session, [ids[i]!], 'embeddings');
      assert.ok(cosine(single!, expected[i]!) >= 0.9999, `text ${i} alone: cosine ${cosine(single!, expected[i]!)}`);
      assert.ok(cosine(batched[i]!, expected[i]!) >= 0.9999, `text ${i} in a batch: cosine ${cosine(batched[i]!, expected[i]!)}`);
    }
    await session.release();
  });

  it('stays close to the reference with int8 weights (cosine ≥ 0.999), and batched as unbatched', async () => {
    const session = await ort.InferenceSession.create(useEncoderOnnx(tf, { int8: true }));
    const batched = await run(session, ids, 'embeddings');
    for (let i = 0; i < texts.length; i++) {
      assert.ok(cosine(batched[i]!, expected[i]!) >= 0.999, `text ${i}: cosine ${cosine(batched[i]!, expected[i]!)}`);
      const [single] = await run(session, [ids[i]!], 'embeddings');
      const diff = Math.max(...single!.map((v, d) => Math.abs(v - batched[i]![d]!)));
      assert.ok(diff < 1e-5, `text ${i}: batched and single embeddings differ by ${diff}`);
    }
    await session.release();
  });

  it('with a head, gives the logits of that head on the reference embeddings, batched as unbatched', async () => {
    const classes = 5;
    const vocab = tf.input('module_apply_default/Encoder_en/KonaTransformer/Encode/embedding_lookup', 0).shape[0]!;
    const head: LinearHead = { dim: 512, classes, weight: normalArray(512 * classes, 1, 3), bias: normalArray(classes, 0.1, 4), bag: normalArray(vocab * classes, 1, 5), bagVocab: vocab };
    const session = await ort.InferenceSession.create(classifierToOnnx(tf, head, 'test', false));
    const batched = await run(session, ids, 'logits');
    for (let i = 0; i < texts.length; i++) {
      // The encoder reads the first 128 pieces: so does the piece bag.
      const want = headLogits(head, { embedding: Float32Array.from(expected[i]!), ids: ids[i]!.slice(0, 128) });
      const [single] = await run(session, [ids[i]!], 'logits');
      for (let c = 0; c < classes; c++) {
        assert.ok(Math.abs(batched[i]![c]! - want[c]!) < 2e-3, `text ${i} class ${c}: ${batched[i]![c]} vs ${want[c]}`);
        assert.ok(Math.abs(batched[i]![c]! - single![c]!) < 1e-4, `text ${i} class ${c}: batched ${batched[i]![c]} vs single ${single![c]}`);
      }
    }
    await session.release();
  });
});

describe('the tokenizer.json built from the SentencePiece vocabulary', () => {
  it('gives the reference tokenizer’s pieces on every listing, raw, cleaned and transliterated', async () => {
    const reference = await loadReference();
    const { tokenizerJson, tokenizerConfig } = sentencePieceTokenizerFiles(readVocabulary(modelPackageDir()), 128);
    const tokenizer = new PreTrainedTokenizer(tokenizerJson, tokenizerConfig);
    const preparations = [{ cleanText: false, keepSentences: null }, { cleanText: true, keepSentences: 2 }, { transliterate: true, cleanText: false, keepSentences: null }];
    let checked = 0;
    for (const listing of readListings()) {
      for (const p of preparations) {
        const text = prepareText(eventText(listing), p);
        assert.deepEqual(tokenizer.encode(text), referenceIds(reference, text), `${listing.id}: ${text}`);
        checked++;
      }
    }
    assert.ok(checked > 2400);
    // Texts the listings do not have: reserved pieces as text, null-scored pieces, unknown characters.
    for (const text of ['<s> hello </s>', 'see https://example.com :) :(', 'emoji 🎷🎺 and 漢字', 'Ünïcödé — “quotes”']) {
      assert.deepEqual(tokenizer.encode(text), referenceIds(reference, text), text);
    }
  });
});
