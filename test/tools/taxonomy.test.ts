import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { buildFeeds } from '../../src/handlers/text/batch.js';
import { newModel, predictProbabilities, trainBagModel, type Example } from '../../tools/taxonomy/bag-model.js';
import { readListings, readSplit, SPLITS, type Listing } from '../../tools/taxonomy/dataset.js';
import { mulberry32 } from '../../tools/modelgen/rng.js';
import { bagModelToOnnx } from '../../tools/taxonomy/onnx-export.js';
import { splitListings } from '../../tools/taxonomy/split.js';

const stratum = (l: Listing): string => `${l.taxonomy}/${l.subtaxonomy ?? ''}/${l.lang}`;

describe('the taxonomy data', () => {
  const listings = readListings();

  it('has at least 800 listings over 8 taxonomies and 5+ music sub-taxonomies, in English and Spanish', () => {
    assert.ok(listings.length >= 800, `${listings.length} listings`);
    assert.equal(new Set(listings.map((l) => l.taxonomy)).size, 8);
    assert.ok(new Set(listings.filter((l) => l.taxonomy === 'music').map((l) => l.subtaxonomy)).size >= 5);
    assert.ok(listings.every((l) => (l.taxonomy === 'music') === (l.subtaxonomy !== null)));
    const es = listings.filter((l) => l.lang === 'es').length;
    assert.ok(Math.abs(es - listings.length / 2) < listings.length * 0.05, `${es} Spanish listings`);
  });

  it('is split 70/15/15 within every taxonomy, sub-taxonomy and language, with no listing in two splits', () => {
    const splits = splitListings(listings);
    const seen = new Set<string>();
    for (const s of SPLITS) for (const l of splits[s]) {
      assert.ok(!seen.has(l.id), `${l.id} is in two splits`);
      seen.add(l.id);
    }
    assert.equal(seen.size, listings.length);
    const strata = new Set(listings.map(stratum));
    for (const key of strata) {
      const n = (s: (typeof SPLITS)[number]): number => splits[s].filter((l) => stratum(l) === key).length;
      const total = n('train') + n('validation') + n('test');
      assert.ok(Math.abs(n('validation') - 0.15 * total) <= 0.5 && Math.abs(n('test') - 0.15 * total) <= 0.5, `${key}: ${n('train')}/${n('validation')}/${n('test')}`);
    }
  });

  it('is the split committed in examples/taxonomy/data (the split is fixed)', () => {
    const splits = splitListings(listings);
    for (const s of SPLITS) assert.deepEqual(readSplit(s).map((l) => l.id), splits[s].map((l) => l.id), `${s}.csv is out of date: run npm run build:models`);
  });
});

describe('the embedding-bag model', () => {
  it('learns a separable toy problem', () => {
    // Tokens 5-9 mean class 0, 10-14 class 1, 15-19 class 2; 20-29 are noise in every class.
    const next = mulberry32(42);
    const rand = (n: number): number => Math.floor(next() * n);
    const make = (label: number): Example => ({
      ids: [2, ...Array.from({ length: 6 }, () => (rand(2) ? 5 + 5 * label + rand(5) : 20 + rand(10))), 3],
      label,
    });
    const train = Array.from({ length: 150 }, (_, i) => make(i % 3));
    const validation = Array.from({ length: 60 }, (_, i) => make(i % 3));
    const acc = (p: number[], a: number[]): number => p.filter((x, i) => x === a[i]).length / a.length;
    const { bestScore } = trainBagModel(30, 3, train, validation, acc, { dim: 8, epochs: 20, batchSize: 8, learningRate: 0.05, weightDecay: 0, tokenDropout: 0, seed: 1 });
    assert.ok(bestScore > 0.9, `validation accuracy ${bestScore}`);
  });

  it('exports to ONNX that computes what the trainer computes, padding included', async () => {
    const m = newModel(40, 6, 4, 3);
    const sequences = [
      [2, 7, 9, 11, 3],
      [2, 30, 3],
      [2, 1, 1, 1, 1, 1, 39, 3],
    ];
    const session = await ort.InferenceSession.create(bagModelToOnnx(m, 'test'));
    const out = await session.run(buildFeeds(sequences, new Map([['input_ids', 'int64'], ['attention_mask', 'int64']]), 0));
    const logits = out['logits']!;
    assert.deepEqual(logits.dims, [3, 4]);
    const data = logits.data as Float32Array;
    sequences.forEach((seq, r) => {
      const row = Array.from(data.subarray(r * 4, r * 4 + 4));
      const max = Math.max(...row);
      const exp = row.map((v) => Math.exp(v - max));
      const sum = exp.reduce((a, b) => a + b, 0);
      const expected = predictProbabilities(m, seq);
      exp.forEach((e, c) => assert.ok(Math.abs(e / sum - expected[c]!) < 1e-5, `row ${r} class ${c}`));
    });
    await session.release();
  });
});
