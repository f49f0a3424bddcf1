/** Helpers for the archive tests: temp dirs, hand-made zip and tar files, and leftover checks. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { gzipSync } from 'node:zlib';
import { InvalidModelException } from '../../src/errors.js';
import { EXTRACT_ROOT_NAME } from '../../src/archive/extract.js';
import { writeZip, type ZipSource } from '../../src/archive/zip-writer.js';

const created: string[] = [];
after(async () => {
  await Promise.all(created.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

/** A fresh directory under the OS temp dir, removed after the test file. */
export async function makeTempDir(prefix = 'ortserve-archive-test-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Entries left under `${tempDir}/ortserve-models` (none after a failed or disposed open). */
export async function leftovers(tempDir: string): Promise<string[]> {
  return fs.readdir(path.join(tempDir, EXTRACT_ROOT_NAME)).catch(() => []);
}

/** Writes a zip of in-memory entries (names are not checked, so tests can write hostile ones). */
export async function zipOf(
  file: string,
  entries: Array<{ name: string; data?: string | Buffer; mode?: number }>,
  opts: { store?: boolean; forceZip64?: boolean } = {},
): Promise<string> {
  const sources: ZipSource[] = entries.map((e) => ({
    name: e.name,
    data: typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0)),
    mode: e.mode,
  }));
  await writeZip(file, sources, { store: opts.store ?? false, forceZip64: opts.forceZip64 });
  return file;
}

export interface TarItem {
  name: string;
  /** ustar type flag: '0' file, '5' directory, '1' hard link, '2' symlink, '3' char device. */
  type?: string;
  data?: string | Buffer;
  linkname?: string;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** Builds a ustar tarball by hand, so entries can be anything a hostile archive could hold. */
export function tarBytes(items: TarItem[]): Buffer {
  const blocks: Buffer[] = [];
  for (const item of items) {
    const data = typeof item.data === 'string' ? Buffer.from(item.data) : (item.data ?? Buffer.alloc(0));
    const header = Buffer.alloc(512);
    header.write(item.name, 0, 100, 'utf8');
    header.write(octal(item.type === '5' ? 0o755 : 0o644, 8), 100, 'ascii');
    header.write(octal(0, 8), 108, 'ascii');
    header.write(octal(0, 8), 116, 'ascii');
    header.write(octal(item.type === undefined || item.type === '0' ? data.length : 0, 12), 124, 'ascii');
    header.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii');
    header.write('        ', 148, 'ascii');
    header.write(item.type ?? '0', 156, 'ascii');
    if (item.linkname !== undefined) header.write(item.linkname, 157, 100, 'utf8');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(header);
    if (item.type === undefined || item.type === '0') {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export async function tgzOf(file: string, items: TarItem[]): Promise<string> {
  await fs.writeFile(file, gzipSync(tarBytes(items)));
  return file;
}

/** Asserts that `promise` rejects with InvalidModelException (400) whose message matches `pattern`. */
export async function rejectsInvalid(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InvalidModelException, `expected InvalidModelException, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.match(err.message, pattern);
    return true;
  });
}

/** A minimal model directory: a serialized file, a handler and a manifest. */
export async function writeModelDir(dir: string, manifest: Record<string, unknown> | null = null): Promise<string> {
  await fs.mkdir(path.join(dir, 'MAR-INF'), { recursive: true });
  await fs.writeFile(path.join(dir, 'model.onnx'), 'onnx-bytes');
  await fs.writeFile(path.join(dir, 'handler.js'), 'export function handle() {}');
  const doc = manifest ?? { runtime: 'python', model: { modelName: 'm', modelVersion: '1.0', serializedFile: 'model.onnx', handler: 'handler.js' } };
  await fs.writeFile(path.join(dir, 'MAR-INF', 'MANIFEST.json'), JSON.stringify(doc));
  return dir;
}
