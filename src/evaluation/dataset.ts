/**
 * Data files of the client commands: CSV with a header row (csv-parse / csv-stringify), or JSONL, one
 * JSON object a line. Rows keep every column so that `predict` writes them back unchanged, with its
 * own columns added.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { cellText } from './row-select.js';

export type Row = Record<string, unknown>;
export type DataFormat = 'csv' | 'jsonl';

export interface Dataset {
  format: DataFormat;
  /** Header order for CSV; first-seen key order for JSONL. */
  columns: string[];
  rows: Row[];
}

/** A data file that cannot be read or parsed (exit 1). */
export class DataError extends Error {}

/** The format named by the file's extension; `refuse` makes the error for any other extension. */
export function formatOf(file: string, refuse: () => Error = () => new DataError(`${file}: expected a .csv or .jsonl file`)): DataFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw refuse();
}

export function readDataset(file: string): Dataset {
  const format = formatOf(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DataError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return format === 'csv' ? parseCsv(file, text) : parseJsonl(file, text);
}

/** Several files read as one: rows in file order, columns in first-seen order. */
export function readDatasets(files: readonly string[]): Dataset {
  const sets = files.map(readDataset);
  const columns: string[] = [];
  for (const s of sets) for (const c of s.columns) if (!columns.includes(c)) columns.push(c);
  return { format: sets[0]?.format ?? 'csv', columns, rows: sets.flatMap((s) => s.rows) };
}

function parseCsv(file: string, text: string): Dataset {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true });
  } catch (err) {
    throw new DataError(`${file}: ${(err as Error).message}`);
  }
  const [header, ...body] = records;
  if (!header) throw new DataError(`${file}: empty file (a header row is expected)`);
  const columns = header.map((h) => h.trim());
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup !== undefined) throw new DataError(`${file}: the column "${dup}" appears twice in the header`);
  const rows = body.map((cells) => Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? ''])));
  return { format: 'csv', columns, rows };
}

function parseJsonl(file: string, text: string): Dataset {
  const columns: string[] = [];
  const rows: Row[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new DataError(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new DataError(`${file}:${i + 1}: expected a JSON object`);
    for (const k of Object.keys(value)) if (!columns.includes(k)) columns.push(k);
    rows.push(value as Row);
  });
  return { format: 'jsonl', columns, rows };
}

/** Writes the rows in `format` through a temporary file, so a failed run never leaves half a file. */
export function writeDataset(file: string, format: DataFormat, columns: readonly string[], rows: readonly Row[]): void {
  const text = format === 'csv' ? toCsv(columns, rows) : rows.map((r) => JSON.stringify(pick(r, columns))).join('\n') + (rows.length ? '\n' : '');
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    throw new DataError(`cannot write ${file}: ${(err as Error).message}`);
  }
}

/** The row with exactly `columns`, in that order. */
function pick(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(columns.map((c) => [c, row[c] ?? null]));
}

/** CSV cells as `cellText` writes them (score lists as JSON). */
function toCsv(columns: readonly string[], rows: readonly Row[]): string {
  // The header goes in as the first record: csv-stringify's `columns` would read dotted names as paths.
  return stringify([[...columns], ...rows.map((r) => columns.map((c) => cellText(r[c])))]);
}
