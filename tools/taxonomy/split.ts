/**
 * The fixed, stratified 70/15/15 split of the listings (as the original classifier's data was split),
 * stratified by taxonomy and, within music, by sub-taxonomy, so that both models see every class in
 * every split. Deterministic: the same listings always give the same files.
 */
import path from 'node:path';
import { writeDataset } from '../../src/evaluation/dataset.js';
import { mulberry32, shuffleInPlace } from '../modelgen/rng.js';
import { COLUMNS, DATA_DIR, SPLITS, type Listing, type SplitName } from './dataset.js';

const SHARES: Record<SplitName, number> = { train: 0.7, validation: 0.15, test: 0.15 };

export function splitListings(listings: Listing[], seed = 20250201): Record<SplitName, Listing[]> {
  const strata = new Map<string, Listing[]>();
  for (const l of listings) {
    // Language too, so that English and Spanish stay balanced in every split.
    const key = `${l.taxonomy}/${l.subtaxonomy ?? ''}/${l.lang}`;
    strata.set(key, [...(strata.get(key) ?? []), l]);
  }
  const out: Record<SplitName, Listing[]> = { train: [], validation: [], test: [] };
  for (const key of [...strata.keys()].sort()) {
    const items = shuffleInPlace(strata.get(key)!.sort((a, b) => a.id.localeCompare(b.id)), mulberry32(seed));
    const nVal = Math.round(items.length * SHARES.validation);
    const nTest = Math.round(items.length * SHARES.test);
    out.validation.push(...items.slice(0, nVal));
    out.test.push(...items.slice(nVal, nVal + nTest));
    out.train.push(...items.slice(nVal + nTest));
  }
  for (const name of SPLITS) out[name].sort((a, b) => a.id.localeCompare(b.id));
  return out;
}

export function writeSplits(splits: Record<SplitName, Listing[]>, dir = DATA_DIR): void {
  for (const name of SPLITS) writeDataset(path.join(dir, `${name}.csv`), 'csv', COLUMNS, splits[name].map((l) => ({ ...l })));
}
