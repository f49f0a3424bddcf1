/**
 * Tarball extraction (gzip-compressed or plain) with node-tar's Parser, writing entries ourselves rather
 * than through tar's Unpack: Unpack quietly skips or rewrites entries it dislikes (it strips leading `/`,
 * drops `..` paths with a warning, recreates links), where a model server should refuse the archive.
 * Only regular files and directories are accepted.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline as pipelineCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ArchiveError, ExtractBudget, ensureDir, entryTarget, entryWriteError, normalizeEntryName } from './extract-guard.js';
import type { ExtractLimits } from './types.js';

const FILE_TYPES: ReadonlySet<string> = new Set(['File', 'OldFile', 'ContiguousFile']);
const DIR_TYPES: ReadonlySet<string> = new Set(['Directory', 'GNUDumpDir']);
/** Cap on pax / GNU long-name records: real ones are a few hundred bytes. */
const MAX_META_BYTES = 1024 * 1024;

function describeType(type: string): string {
  if (type === 'SymbolicLink') return 'a symbolic link';
  if (type === 'Link') return 'a hard link';
  if (type === 'CharacterDevice' || type === 'BlockDevice') return 'a device';
  if (type === 'FIFO') return 'a FIFO';
  return `of unsupported type ${type}`;
}

/** Turns tar's own errors (truncation, bad checksums, gzip failures) into ArchiveError. */
function asArchiveError(err: unknown): Error {
  if (err instanceof ArchiveError) return err;
  const e = err as NodeJS.ErrnoException & { tarCode?: string };
  if (e.tarCode !== undefined || (typeof e.code === 'string' && e.code.startsWith('Z_'))) {
    const message = e.message.replace(/^TAR_[A-Z_]+: /, '');
    return new ArchiveError(`the tarball is truncated or corrupt: ${message}`);
  }
  return e;
}

/** True when the file starts with the gzip magic bytes. */
async function isGzip(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Extracts a tarball into `dest` (which must exist and be empty). Throws ArchiveError for a bad archive. */
export async function extractTar(file: string, dest: string, limits: ExtractLimits): Promise<void> {
  const budget = new ExtractBudget(limits);
  // Gzip bombs are stopped by the budget while they stream: the ratio of bytes written to compressed
  // bytes consumed (past RATIO_CHECK_MIN_BYTES of output, as for a zip entry) and the total byte cap.
  // The gzip layer is ours, not node-tar's: zlib's stream yields output only as it is read, and reports
  // exactly how much input that took (node-tar's zlib inflates each whole input chunk at once, up to
  // 1000 times its size, before anything can refuse it). node-tar only ever sees a plain tar: a second
  // gzip layer is refused below, and zstd and brotli (formats ortserve does not read) are not detected.
  const parser = new Parser({ strict: true, maxMetaEntrySize: MAX_META_BYTES, zstd: false, brotli: false });
  const pending: Array<Promise<void>> = [];
  /** Entry streams being written, destroyed on failure so that every pending write settles. */
  const active = new Set<Readable>();
  let failure: Error | null = null;
  let rejectFailed: (err: Error) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => undefined);
  const fail = (err: unknown): void => {
    if (failure !== null) return;
    failure = asArchiveError(err);
    rejectFailed(failure);
    parser.abort(failure);
    for (const stream of active) stream.destroy(failure);
  };

  const writeEntry = async (entry: ReadEntry, rel: string, isDir: boolean): Promise<void> => {
    const target = entryTarget(dest, rel);
    if (isDir) {
      entry.resume();
      await ensureDir(target);
      return;
    }
    await ensureDir(path.dirname(target));
    if (failure !== null) return;
    // Readable.from consumes the Minipass entry through its async iterator, which keeps backpressure.
    // A tar entry cannot lie about its size (the size frames the stream), so the entry limit is the size.
    const source = Readable.from(entry as AsyncIterable<Buffer>);
    active.add(source);
    try {
      await pipeline(source, budget.meter(rel, entry.size), createWriteStream(target, { flags: 'wx', mode: 0o644 }));
    } finally {
      active.delete(source);
    }
  };

  parser.on('entry', (entry: ReadEntry) => {
    if (failure !== null) {
      entry.resume();
      return;
    }
    try {
      const shown = JSON.stringify(entry.path);
      budget.countEntry();
      const isDir = DIR_TYPES.has(entry.type);
      if (!isDir && !FILE_TYPES.has(entry.type)) throw new ArchiveError(`entry ${shown} is ${describeType(entry.type)}`);
      const name = normalizeEntryName(entry.path);
      if (!isDir) budget.declare(name.rel, entry.size);
      budget.claim({ rel: name.rel, isDir }, entry.path);
      pending.push(writeEntry(entry, name.rel, isDir).catch((err: unknown) => fail(entryWriteError(err, name.rel))));
    } catch (err) {
      entry.resume();
      fail(err);
    }
  });
  // node-tar silently skips entries of types it does not know, and oversized metadata; refuse both.
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    const what = entry.meta ? `has metadata over ${MAX_META_BYTES} bytes` : `is ${describeType(entry.type)}`;
    fail(new ArchiveError(`entry ${JSON.stringify(entry.path)} ${what}`));
  });
  parser.on('error', fail);
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));

  const raw = createReadStream(file);
  let gunzip: Gunzip | null = null;
  let input: Readable = raw;
  try {
    if (await isGzip(file)) {
      gunzip = createGunzip();
      input = pipelineCallback(raw, gunzip, () => undefined);
    }
    let head = Buffer.alloc(0);
    for await (const chunk of input) {
      if (failure !== null) break;
      if (gunzip !== null) {
        budget.consumed(gunzip.bytesWritten);
        if (head.length < 2) {
          head = Buffer.concat([head, chunk as Buffer]);
          if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) throw new ArchiveError('the tarball is compressed twice');
        }
      }
      if (!parser.write(chunk as Buffer)) {
        await Promise.race([new Promise<void>((resolve) => parser.once('drain', () => resolve())), failed]);
      }
    }
    if (failure === null) {
      parser.end();
      await Promise.race([ended, failed]);
    }
    await Promise.all(pending);
  } catch (err) {
    fail(err);
  } finally {
    input.destroy();
    raw.destroy();
  }
  if (failure !== null) {
    // Let in-flight writes finish failing before the caller removes the directory, or a late mkdir
    // could recreate part of it.
    await Promise.allSettled(pending);
    throw failure;
  }
}
