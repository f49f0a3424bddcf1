import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readListings, readSplit, SPLITS, type Listing } from '../../tools/taxonomy/dataset.js';
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
