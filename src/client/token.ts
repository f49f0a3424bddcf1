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
  if (source.token !== undefined && source.token !== '') return source.token;
  if (source.keyFile !== undefined) return readInferenceKey(path.resolve(source.cwd, source.keyFile));
  const fallback = path.join(source.cwd, 'key_file.json');
  return existsSync(fallback) ? readInferenceKey(fallback) : null;
}

/** `{"inference": {"key": …}, …}` → the inference key. */
export function readInferenceKey(file: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KeyFileError(`cannot read the key file ${file}: ${(err as Error).message}`);
  }
  const inference = (parsed as { inference?: { key?: unknown } } | null)?.inference;
  if (typeof inference?.key !== 'string' || inference.key === '') {
    throw new KeyFileError(`${file} has no "inference": {"key": …} entry`);
  }
  return inference.key;
}
