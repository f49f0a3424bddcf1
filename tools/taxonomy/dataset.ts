/**
 * The taxonomy data set: event listings written for the project (examples/taxonomy/data/listings/*.jsonl),
 * and its fixed split into train / validation / test CSV files. Files are read and written by the same
 * code as `ortserve evaluate` and `ortserve predict` (src/evaluation/dataset.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDataset, type Row } from '../../src/evaluation/dataset.js';
import { rowText } from '../../src/evaluation/row-select.js';

export const DATA_DIR = fileURLToPath(new URL('../../../examples/taxonomy/data/', import.meta.url));
export const SPLITS = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];
export const COLUMNS = ['id', 'lang', 'title', 'description', 'taxonomy', 'subtaxonomy'] as const;

export interface Listing {
  id: string;
  lang: 'en' | 'es';
  title: string;
  description: string;
  taxonomy: string;
  /** Only music listings have one. */
  subtaxonomy: string | null;
}

/** The text a client sends for a listing: what `ortserve evaluate` sends for the title and description columns. */
export function eventText(l: Pick<Listing, 'title' | 'description'>): string {
  return rowText(l, ['title', 'description']);
}

function toListing(raw: Row, where: string): Listing {
  const str = (k: string): string => {
    const v = raw[k];
    if (typeof v !== 'string' || v.trim() === '') throw new Error(`${where}: "${k}" must be a non-empty string`);
    return v;
  };
  const lang = str('lang');
  if (lang !== 'en' && lang !== 'es') throw new Error(`${where}: lang must be en or es`);
  const sub = raw['subtaxonomy'];
  return {
    id: str('id'),
    lang,
    title: str('title'),
    description: str('description'),
    taxonomy: str('taxonomy'),
    subtaxonomy: typeof sub === 'string' && sub !== '' ? sub : null,
  };
}

/** Every listing of every `.jsonl` file under `listings/`, files in name order. */
export function readListings(dir = path.join(DATA_DIR, 'listings')): Listing[] {
  const out: Listing[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    readDataset(path.join(dir, file)).rows.forEach((row, i) => out.push(toListing(row, `${file}, listing ${i + 1}`)));
  }
  const ids = new Set<string>();
  for (const l of out) {
    if (ids.has(l.id)) throw new Error(`duplicate listing id ${l.id}`);
    ids.add(l.id);
  }
  return out;
}

/**
 * Listings written for the project only to train on (examples/taxonomy/data/train-extra/*.jsonl): they are
 * never split, so the validation and test splits stay as they are, and only the train side grows.
 */
export function readExtraTrainListings(dir = path.join(DATA_DIR, 'train-extra')): Listing[] {
  return existsSync(dir) ? readListings(dir) : [];
}

/** One split file as written by `writeSplits` (subtaxonomy "" → null). */
export function readSplit(name: SplitName, dir = DATA_DIR): Listing[] {
  return readDataset(path.join(dir, `${name}.csv`)).rows.map((r, i) => toListing(r, `${name}.csv:${i + 2}`));
}
