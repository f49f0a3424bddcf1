/** Helpers for the archive tests: temp dirs, hostile zip and tar files, and leftover checks. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { gzipSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import { InvalidModelException } from '../../src/errors.js';
import { EXTRACT_ROOT_NAME } from '../../src/archive/extract.js';

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

export interface ZipItem {
  name: string;
  data?: string | Buffer;
  /** Unix mode for the high 16 bits of the external attributes (e.g. 0o120777 for a symlink). */
  mode?: number;
  /** Compression method written in the headers (the data is deflated whatever it says). */
  method?: number;
  /** Sets the "encrypted" flag (the data is not actually encrypted). */
  encrypted?: boolean;
}

/**
 * Writes a zip of in-memory entries with adm-zip, then sets what its addFile would clean up or refuse
 * (names with "..", backslashes or duplicates, symlink modes, flags), so tests can write any entry a
 * hostile archive could hold.
 */
export async function zipOf(file: string, entries: ZipItem[], opts: { store?: boolean } = {}): Promise<string> {
  const zip = new AdmZip(undefined, { noSort: true });
  entries.forEach((item, i) => {
    const data = typeof item.data === 'string' ? Buffer.from(item.data) : (item.data ?? Buffer.alloc(0));
    // A placeholder name: addFile normalises names and merges duplicates.
    const entry = zip.addFile(`entry-${i}`, data);
    entry.entryName = item.name;
    if (item.mode !== undefined) entry.attr = (item.mode << 16) >>> 0;
    if (opts.store) entry.header.method = 0;
    if (item.method !== undefined) entry.header.method = item.method;
    if (item.encrypted === true) entry.header.flags |= 0x1;
  });
  await fs.writeFile(file, zip.toBuffer());
  return file;
}

/** Offsets of the local and central headers of entry `name` in a zip's bytes (for tests that corrupt them). */
export function headerOffsets(zip: Buffer, name: string): { local: number; central: number } {
  let local = -1;
  let central = -1;
  for (let i = 0; i + 46 <= zip.length; i++) {
    const sig = zip.readUInt32LE(i);
    if (sig === 0x04034b50 && zip.toString('utf8', i + 30, i + 30 + zip.readUInt16LE(i + 26)) === name) local = i;
    if (sig === 0x02014b50 && zip.toString('utf8', i + 46, i + 46 + zip.readUInt16LE(i + 28)) === name) central = i;
  }
  assert.ok(local >= 0 && central >= 0, `no headers for ${name}`);
  return { local, central };
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

/** One ustar header block; `size` may differ from the data that follows (a bomb streams its own). */
export function tarHeader(item: TarItem, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(item.name, 0, 100, 'utf8');
  header.write(octal(item.type === '5' ? 0o755 : 0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write(item.type ?? '0', 156, 'ascii');
  if (item.linkname !== undefined) header.write(item.linkname, 157, 100, 'utf8');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** Builds a ustar tarball by hand, so entries can be anything a hostile archive could hold. */
export function tarBytes(items: TarItem[]): Buffer {
  const blocks: Buffer[] = [];
  for (const item of items) {
    const data = typeof item.data === 'string' ? Buffer.from(item.data) : (item.data ?? Buffer.alloc(0));
    const isFile = item.type === undefined || item.type === '0';
    blocks.push(tarHeader(item, isFile ? data.length : 0));
    if (isFile) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * A gzip bomb: a tar.gz of one file of `bytes` zeros, written as concatenated gzip members (one
 * compressed block of zeros repeated), so that a 1 GiB expansion costs a second to build and about
 * 1 MB on disk. `bytes` must be a multiple of `block`.
 */
export async function tgzBomb(file: string, bytes: number, block = 1024 * 1024): Promise<string> {
  const zeros = gzipSync(Buffer.alloc(block), { level: 9 });
  const members = [gzipSync(tarHeader({ name: 'zeros.bin' }, bytes))];
  for (let done = 0; done < bytes; done += block) members.push(zeros);
  members.push(gzipSync(Buffer.alloc(1024)));
  await fs.writeFile(file, Buffer.concat(members));
  return file;
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
