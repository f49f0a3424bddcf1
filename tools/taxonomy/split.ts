/**
 * The fixed, stratified 70/15/15 split of the listings (as the original classifier's data was split),
 * stratified by taxonomy and, within music, by sub-taxonomy, so that both models see every class in
 * every split. Deterministic: the same listings always give the same files.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { mulberry32 } from '../modelgen/rng.js';
import { COLUMNS, DATA_DIR, SPLITS, type Listing, type SplitName } from './dataset.js';

const SHARES: Record<SplitName, number> = { train: 0.7, validation: 0.15, test: 0.15 };

function shuffled<T>(items: T[], seed: number): T[] {
  const rand = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function splitListings(listings: Listing[], seed = 20250201): Record<SplitName, Listing[]> {
  const strata = new Map<string, Listing[]>();
  for (const l of listings) {
    // Language too, so that English and Spanish stay balanced in every split.
    const key = `${l.taxonomy}/${l.subtaxonomy ?? ''}/${l.lang}`;
    strata.set(key, [...(strata.get(key) ?? []), l]);
  }
  const out: Record<SplitName, Listing[]> = { train: [], validation: [], test: [] };
  for (const key of [...strata.keys()].sort()) {
    const items = shuffled(strata.get(key)!.sort((a, b) => a.id.localeCompare(b.id)), seed);
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
  for (const name of SPLITS) {
    const rows = splits[name].map((l) => COLUMNS.map((c) => l[c] ?? ''));
    writeFileSync(path.join(dir, `${name}.csv`), stringify([[...COLUMNS], ...rows]));
  }
}
