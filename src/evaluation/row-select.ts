/**
 * Which rows of a data file are sent, and which text each one sends: `--where COLUMN=VALUE` filters,
 * and `--text-columns` joined with ". " (the taxonomy data sends `${title}. ${description}`).
 */
import type { Row } from './dataset.js';

export interface RowFilter {
  column: string;
  value: string;
}

/** A column named on the command line is not in the file. */
export class ColumnError extends Error {}

/** `column=value` → a filter; null when there is no `=` or no column name. */
export function parseWhere(expr: string): RowFilter | null {
  const eq = expr.indexOf('=');
  if (eq <= 0) return null;
  return { column: expr.slice(0, eq).trim(), value: expr.slice(eq + 1) };
}

/** A cell as text: JSON null and missing cells are empty, numbers and booleans as written. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Throws ColumnError unless every name is a column of the file. */
export function requireColumns(names: readonly string[], columns: readonly string[], what: string): void {
  const missing = names.filter((n) => !columns.includes(n));
  if (missing.length > 0) {
    throw new ColumnError(`${what}: no column ${missing.map((m) => `"${m}"`).join(', ')} in the data (columns: ${columns.join(', ')})`);
  }
}

/** The rows every filter keeps (all of them must hold). */
export function selectRows(rows: readonly Row[], filters: readonly RowFilter[], columns: readonly string[]): Row[] {
  requireColumns(filters.map((f) => f.column), columns, '--where');
  return rows.filter((row) => filters.every((f) => cellText(row[f.column]).trim() === f.value.trim()));
}

/** The text columns asked for, else `text` when the file has one, else `title` and `description`. */
export function resolveTextColumns(requested: readonly string[] | null, columns: readonly string[]): string[] {
  if (requested !== null) {
    requireColumns(requested, columns, '--text-columns');
    return [...requested];
  }
  if (columns.includes('text')) return ['text'];
  const fallback = ['title', 'description'].filter((c) => columns.includes(c));
  if (fallback.length === 0) {
    throw new ColumnError(`no "text" column, nor "title"/"description", in the data (columns: ${columns.join(', ')}): use --text-columns`);
  }
  return fallback;
}

/** The non-empty cells of `textColumns`, trimmed and joined with ". ". */
export function rowText(row: Row, textColumns: readonly string[]): string {
  return textColumns
    .map((c) => cellText(row[c]).trim())
    .filter((t) => t !== '')
    .join('. ');
}
