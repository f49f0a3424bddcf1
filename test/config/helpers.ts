/** Temp-dir fixtures for the config tests: every test gets its own directory, removed afterwards. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';

const created: string[] = [];
after(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh empty directory. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ortserve-config-test-'));
  created.push(dir);
  return dir;
}

/** Writes `text` to `dir/relative`, creating parent directories; returns the full path. */
export function write(dir: string, relative: string, text: string): string {
  const path = join(dir, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}
