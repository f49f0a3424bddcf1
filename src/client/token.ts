/**
 * The inference key a client sends as `Authorization: Bearer …`: given on the command line, or read
 * from the `key_file.json` the server writes in its working directory. A server started with token
 * authorization disabled needs none.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** key_file.json is missing, unreadable or not in the server's shape. */
export class KeyFileError extends Error {}

export interface TokenSource {
  /** `--token`: wins over any key file. */
  token?: string;
  /** `--key-file`: must exist when given. */
  keyFile?: string;
  /** Where the default `key_file.json` is looked for. */
  cwd: string;
}

/** The inference key, or null when there is none to send. */
export function resolveInferenceToken(source: TokenSource): string | null {
  return resolveToken(source, 'inference');
}

/** The management key (`evaluate` describes the models it evaluates), or null when there is none. */
export function resolveManagementToken(source: TokenSource): string | null {
  return resolveToken(source, 'management');
}

function resolveToken(source: TokenSource, kind: KeyKind): string | null {
  if (source.token !== undefined && source.token !== '') return source.token;
  if (source.keyFile !== undefined) return readKey(path.resolve(source.cwd, source.keyFile), kind);
  const fallback = path.join(source.cwd, 'key_file.json');
  return existsSync(fallback) ? readKey(fallback, kind) : null;
}

/** The two API keys of key_file.json a client may need. */
type KeyKind = 'inference' | 'management';

/** `{"inference": {"key": …}, …}` → the inference key. */
export function readInferenceKey(file: string): string {
  return readKey(file, 'inference');
}

function readKey(file: string, kind: KeyKind): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KeyFileError(`cannot read the key file ${file}: ${(err as Error).message}`);
  }
  const entry = (parsed as Record<string, { key?: unknown } | undefined> | null)?.[kind];
  if (typeof entry?.key !== 'string' || entry.key === '') {
    throw new KeyFileError(`${file} has no "${kind}": {"key": …} entry`);
  }
  return entry.key;
}
