/**
 * The checks shared by the zip and tar extractors: entry names that stay inside the destination, and the
 * budgets (entries, bytes) that stop archive bombs. Both extractors report problems as ArchiveError;
 * extract.ts turns them into InvalidModelException with the archive's name.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import type { ExtractLimits } from './types.js';

/** A problem with the archive itself (not with the server). */
export class ArchiveError extends Error {}

/**
 * Output below this size is exempt from the compression-ratio check (a zip entry's, a tarball's whole
 * stream): tiny repetitive files are harmless.
 */
export const RATIO_CHECK_MIN_BYTES = 1024 * 1024;

/** Longest file name (one path component) Linux and macOS file systems accept (NAME_MAX). */
export const MAX_NAME_BYTES = 255;

/**
 * Turns a file-system error that an entry's name caused (a path over PATH_MAX once joined to the
 * destination, or a name the file system refuses) into an ArchiveError; other errors pass through.
 */
export function entryWriteError(err: unknown, rel: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENAMETOOLONG') return new ArchiveError(`entry ${JSON.stringify(rel)} has a path too long for the file system`);
  if (code === 'EILSEQ') return new ArchiveError(`entry ${JSON.stringify(rel)} has a name the file system refuses`);
  return err;
}

export interface EntryName {
  /** The normalised relative path, '/'-separated, without a trailing slash. */
  rel: string;
  /** True when the name ended with '/'. */
  isDir: boolean;
}

/**
 * Validates an entry name and normalises it. Refused: empty names, NUL bytes, backslashes (a Windows
 * separator that other tools may honour), absolute paths, drive letters, and `..` components. `.`
 * components and repeated slashes are dropped, so `./a//b` is `a/b`.
 */
export function normalizeEntryName(name: string): EntryName {
  const shown = JSON.stringify(name);
  if (name === '') throw new ArchiveError('an entry has an empty name');
  if (name.includes('\0')) throw new ArchiveError(`entry ${shown} has a NUL byte in its name`);
  if (name.includes('\\')) throw new ArchiveError(`entry ${shown} has a backslash in its name`);
  if (name.startsWith('/')) throw new ArchiveError(`entry ${shown} has an absolute path`);
  if (/^[A-Za-z]:/.test(name)) throw new ArchiveError(`entry ${shown} starts with a drive letter`);
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new ArchiveError(`entry ${shown} has a ".." path component`);
  if (parts.some((part) => Buffer.byteLength(part) > MAX_NAME_BYTES)) {
    throw new ArchiveError(`entry ${shown} has a path component longer than ${MAX_NAME_BYTES} bytes`);
  }
  return { rel: parts.join('/'), isDir: name.endsWith('/') };
}

/** Joins a normalised entry name to the destination and checks, once more, that it stays inside. */
export function entryTarget(dest: string, rel: string): string {
  const target = path.resolve(dest, rel);
  if (target !== dest && !target.startsWith(dest + path.sep)) {
    throw new ArchiveError(`entry ${JSON.stringify(rel)} resolves outside the extraction directory`);
  }
  return target;
}

function formatBytes(bytes: number): string {
  return `${bytes} bytes`;
}

/**
 * Tracks what an extraction has seen: names (to refuse duplicates and file/directory clashes), the entry
 * count, and bytes, both as declared by headers and as actually written.
 */
export class ExtractBudget {
  private readonly files = new Set<string>();
  /** Directories named by their own entries. */
  private readonly explicitDirs = new Set<string>();
  /** Every directory, named or implied by a deeper path. */
  private readonly allDirs = new Set<string>();
  private entries = 0;
  private declaredBytes = 0;
  private writtenBytes = 0;
  /** Compressed bytes handed to a streaming decompressor so far (0: not a compressed stream). */
  private inputBytes = 0;

  constructor(readonly limits: ExtractLimits) {}

  /** Counts one entry; refuses the one past the limit. */
  countEntry(): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw new ArchiveError(`the archive has more than ${this.limits.maxEntries} entries`);
    }
  }

  /**
   * Sets how many compressed bytes a streaming extractor (tar.gz) has consumed so far, so that `record`
   * can refuse a stream that expands beyond `maxCompressionRatio` while it is being written: a gzip bomb
   * is stopped after a bounded amount of output, not at the total size cap.
   */
  consumed(totalCompressedBytes: number): void {
    this.inputBytes = totalCompressedBytes;
  }

  /** Refuses a header whose declared size would take the total past the cap. */
  declare(rel: string, bytes: number): void {
    this.declaredBytes += bytes;
    if (this.declaredBytes > this.limits.maxTotalBytes) {
      throw new ArchiveError(
        `the archive's uncompressed size exceeds the limit of ${formatBytes(this.limits.maxTotalBytes)} (at entry ${JSON.stringify(rel)})`,
      );
    }
  }

  /** Records an entry's name; duplicates and a file where a directory is needed (or vice versa) fail. */
  claim(entry: EntryName, shownName: string): void {
    const shown = JSON.stringify(shownName);
    const { rel } = entry;
    if (rel === '') {
      if (entry.isDir) return; // "./" in tarballs: the root itself
      throw new ArchiveError(`entry ${shown} has an empty name`);
    }
    if (entry.isDir) {
      if (this.explicitDirs.has(rel) || this.files.has(rel)) throw new ArchiveError(`duplicate entry ${shown}`);
    } else if (this.files.has(rel) || this.allDirs.has(rel)) {
      throw new ArchiveError(`duplicate entry ${shown}`);
    }
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.files.has(parent)) throw new ArchiveError(`entry ${shown} is inside "${parent}", which is a file`);
      this.allDirs.add(parent);
    }
    if (entry.isDir) {
      this.explicitDirs.add(rel);
      this.allDirs.add(rel);
    } else {
      this.files.add(rel);
    }
  }

  /**
   * Counts bytes really produced, so a header that lies about sizes cannot push the total past the cap.
   * `entryTotal` is what the entry has produced so far (including `bytes`); it may not exceed
   * `entryLimit` (a zip entry may not exceed its declared size).
   */
  record(rel: string, bytes: number, entryTotal: number, entryLimit: number): void {
    this.writtenBytes += bytes;
    if (entryTotal > entryLimit) {
      throw new ArchiveError(`entry ${JSON.stringify(rel)} is larger than its header says (${entryLimit} bytes)`);
    }
    if (this.writtenBytes > this.limits.maxTotalBytes) {
      throw new ArchiveError(`the archive's uncompressed size exceeds the limit of ${formatBytes(this.limits.maxTotalBytes)}`);
    }
    if (this.inputBytes > 0 && this.writtenBytes >= RATIO_CHECK_MIN_BYTES) {
      const ratio = this.writtenBytes / this.inputBytes;
      if (ratio > this.limits.maxCompressionRatio) {
        throw new ArchiveError(
          `the archive expands more than ${Math.floor(ratio)}:1 (${formatBytes(this.writtenBytes)} from ${formatBytes(this.inputBytes)}), above the compression-ratio limit of ${this.limits.maxCompressionRatio}:1`,
        );
      }
    }
  }

  /** `record` as a stream stage, for extractors that stream (tar). */
  meter(rel: string, entryLimit: number): Transform {
    let seen = 0;
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void => {
        seen += chunk.length;
        try {
          this.record(rel, chunk.length, seen, entryLimit);
        } catch (err) {
          callback(err as ArchiveError);
          return;
        }
        callback(null, chunk);
      },
    });
  }
}

/** Creates the directory an entry needs. Parents come from normalised names, so nothing escapes. */
export async function ensureDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
}
