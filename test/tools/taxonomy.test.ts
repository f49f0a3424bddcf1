import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readExtraTrainListings, readListings, readSplit, SPLITS, type Listing } from '../../tools/taxonomy/dataset.js';
import { splitListings } from '../../tools/taxonomy/split.js';
import { headPredict, trainLinearHead, type HeadExample, type HeadOptions, type LinearHead } from '../../tools/taxonomy/linear-head.js';
import { mulberry32 } from '../../tools/modelgen/rng.js';

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

describe('the Spanish listings written only for training', () => {
  it('are Spanish, cover every taxonomy and music sub-taxonomy, and share no id, title or description with a split', () => {
    const extra = readExtraTrainListings();
    const listings = readListings();
    assert.ok(extra.length >= 100, `${extra.length} listings`);
    assert.ok(extra.every((l) => l.lang === 'es'));
    assert.deepEqual(new Set(extra.map(stratum)), new Set(listings.filter((l) => l.lang === 'es').map(stratum)));
    const seen = new Set(listings.flatMap((l) => [l.id, l.title, l.description]));
    const repeated = extra.filter((l) => seen.has(l.id) || seen.has(l.title) || seen.has(l.description)).map((l) => l.id);
    assert.deepEqual(repeated, []);
    assert.equal(new Set(extra.map((l) => l.id)).size, extra.length);
  });
});

describe('the linear head', () => {
  it('learns from the embedding, and from the piece bag where the embedding says nothing', () => {
    // Class 0/1/2 by the embedding's sign pattern for half the examples; by pieces 5-9/10-14/15-19 for the rest.
    const next = mulberry32(42);
    const rand = (n: number): number => Math.floor(next() * n);
    const make = (label: number, i: number): HeadExample => {
      const embedding = new Float32Array(4).map(() => next() * 0.2 - 0.1);
      if (i % 2 === 0) embedding[label] = 1;
      const ids = Array.from({ length: 6 }, () => (i % 2 === 1 && rand(2) ? 5 + 5 * label + rand(5) : 20 + rand(10)));
      return { embedding, ids, label };
    };
    const train = Array.from({ length: 300 }, (_, i) => make(i % 3, Math.floor(i / 3)));
    const test = Array.from({ length: 90 }, (_, i) => make(i % 3, Math.floor(i / 3)));
    const options: HeadOptions = { epochs: 40, batchSize: 16, learningRate: 0.05, l2: 0, bagVocab: 30, bagL2: 0, seed: 1 };
    const accuracy = (h: LinearHead, exs: HeadExample[]): number => exs.filter((ex) => headPredict(h, ex) === ex.label).length / exs.length;
    assert.ok(accuracy(trainLinearHead(train, 3, options), test) > 0.9);
    // Without the bag, the examples that only pieces describe are guesses.
    assert.ok(accuracy(trainLinearHead(train, 3, { ...options, bagVocab: 0 }), test) < 0.8);
  });
});
