/**
 * A streaming zip extractor. adm-zip reads the whole archive into one Buffer (and inflates each entry
 * into another), which caps archives at Node's 4 GiB Buffer limit and costs that much memory; model
 * archives are routinely gigabytes. This reader reads the central directory, validates every entry
 * before writing anything, then streams each entry from disk through inflate to disk.
 *
 * Defences beyond the name and budget checks of extract-guard.ts: symlink and special-file entries
 * (Unix mode in the external attributes), encrypted entries, unknown compression methods, a central
 * name that differs from its local header, entries whose data overlap (the "overlapping files" zip
 * bomb), data past the central directory, and CRC or size mismatches after inflating.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, crc32 } from 'node:zlib';
import { ArchiveError, ExtractBudget, ensureDir, entryTarget, normalizeEntryName } from './extract-guard.js';
import type { ExtractLimits } from './types.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** Entries smaller than this are exempt from the ratio check: tiny repetitive files are harmless. */
export const RATIO_CHECK_MIN_BYTES = 1024 * 1024;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export interface ZipEntryInfo {
  name: string;
  rawName: Buffer;
  versionMadeBy: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  externalAttr: number;
}

export interface ZipDirectory {
  entries: ZipEntryInfo[];
  centralDirectoryOffset: number;
}

const corrupt = (what: string): ArchiveError => new ArchiveError(`the zip archive is truncated or corrupt: ${what}`);

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, position);
  if (bytesRead !== length) throw corrupt(`unexpected end of file at offset ${position}`);
  return buf;
}

function u64(buf: Buffer, offset: number): number {
  const value = buf.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('a 64-bit size or offset is out of range');
  return Number(value);
}

/** Locates the end-of-central-directory record, searching back over a possible archive comment. */
async function findEocd(handle: FileHandle, fileSize: number): Promise<{ position: number; record: Buffer }> {
  if (fileSize < EOCD_SIZE) throw corrupt('the file is too short to be a zip archive');
  const tailLength = Math.min(fileSize, EOCD_SIZE + MAX_COMMENT);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(handle, tailStart, tailLength);
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD && i + EOCD_SIZE + tail.readUInt16LE(i + 20) <= tailLength) {
      return { position: tailStart + i, record: tail.subarray(i, i + EOCD_SIZE) };
    }
  }
  throw corrupt('end of central directory record not found');
}

function parseZip64Extra(extra: Buffer, entry: ZipEntryInfo, needs: { size: boolean; comp: boolean; offset: boolean }): void {
  let pos = 0;
  while (pos + 4 <= extra.length) {
    const id = extra.readUInt16LE(pos);
    const len = extra.readUInt16LE(pos + 2);
    const body = extra.subarray(pos + 4, pos + 4 + len);
    if (body.length !== len) throw corrupt(`entry ${JSON.stringify(entry.name)} has a malformed extra field`);
    if (id === 0x0001) {
      let at = 0;
      const next = (): number => {
        if (at + 8 > body.length) throw corrupt(`entry ${JSON.stringify(entry.name)} has a short ZIP64 extra field`);
        const value = u64(body, at);
        at += 8;
        return value;
      };
      if (needs.size) entry.uncompressedSize = next();
      if (needs.comp) entry.compressedSize = next();
      if (needs.offset) entry.localHeaderOffset = next();
      return;
    }
    pos += 4 + len;
  }
  throw corrupt(`entry ${JSON.stringify(entry.name)} needs a ZIP64 extra field and has none`);
}

/** Reads and parses the central directory. Refuses more than `maxEntries` before reading it. */
export async function readZipDirectory(handle: FileHandle, fileSize: number, maxEntries: number): Promise<ZipDirectory> {
  const eocd = await findEocd(handle, fileSize);
  const rec = eocd.record;
  let totalEntries = rec.readUInt16LE(10);
  let cdSize = rec.readUInt32LE(12);
  let cdOffset = rec.readUInt32LE(16);
  const disk = rec.readUInt16LE(4);
  const cdDisk = rec.readUInt16LE(6);
  let cdEnd = eocd.position;

  if (eocd.position >= 20) {
    const locator = await readAt(handle, eocd.position - 20, 20);
    if (locator.readUInt32LE(0) === SIG_ZIP64_LOCATOR) {
      const zip64Offset = u64(locator, 8);
      if (zip64Offset + 56 > eocd.position - 20) throw corrupt('the ZIP64 end of central directory is out of place');
      const zip64 = await readAt(handle, zip64Offset, 56);
      if (zip64.readUInt32LE(0) !== SIG_ZIP64_EOCD) throw corrupt('the ZIP64 end of central directory is missing');
      totalEntries = u64(zip64, 32);
      cdSize = u64(zip64, 40);
      cdOffset = u64(zip64, 48);
      cdEnd = zip64Offset;
    }
  }
  if ((disk !== 0 && disk !== 0xffff) || (cdDisk !== 0 && cdDisk !== 0xffff)) {
    throw new ArchiveError('multi-volume zip archives are not supported');
  }
  if (totalEntries > maxEntries) throw new ArchiveError(`the archive has more than ${maxEntries} entries (${totalEntries})`);
  if (cdOffset + cdSize > cdEnd) throw corrupt('the central directory lies outside the file');

  const cd = await readAt(handle, cdOffset, cdSize);
  const entries: ZipEntryInfo[] = [];
  let pos = 0;
  for (let i = 0; i < totalEntries; i++) {
    if (pos + CENTRAL_SIZE > cd.length || cd.readUInt32LE(pos) !== SIG_CENTRAL) {
      throw corrupt(`central directory entry ${i + 1} is malformed`);
    }
    const nameLen = cd.readUInt16LE(pos + 28);
    const extraLen = cd.readUInt16LE(pos + 30);
    const commentLen = cd.readUInt16LE(pos + 32);
    const nameStart = pos + CENTRAL_SIZE;
    const extraStart = nameStart + nameLen;
    const next = extraStart + extraLen + commentLen;
    if (next > cd.length) throw corrupt(`central directory entry ${i + 1} is malformed`);
    const rawName = Buffer.from(cd.subarray(nameStart, extraStart));
    const entry: ZipEntryInfo = {
      // Bit 11 marks UTF-8; names without it are nearly always ASCII, and UTF-8 is what Java assumes.
      name: rawName.toString('utf8'),
      rawName,
      versionMadeBy: cd.readUInt16LE(pos + 4),
      flags: cd.readUInt16LE(pos + 8),
      method: cd.readUInt16LE(pos + 10),
      crc32: cd.readUInt32LE(pos + 16),
      compressedSize: cd.readUInt32LE(pos + 20),
      uncompressedSize: cd.readUInt32LE(pos + 24),
      localHeaderOffset: cd.readUInt32LE(pos + 42),
      externalAttr: cd.readUInt32LE(pos + 38),
    };
    const needs = {
      size: entry.uncompressedSize === 0xffffffff,
      comp: entry.compressedSize === 0xffffffff,
      offset: entry.localHeaderOffset === 0xffffffff,
    };
    if (needs.size || needs.comp || needs.offset) parseZip64Extra(cd.subarray(extraStart, extraStart + extraLen), entry, needs);
    entries.push(entry);
    pos = next;
  }
  return { entries, centralDirectoryOffset: cdOffset };
}

interface PlannedEntry {
  info: ZipEntryInfo;
  rel: string;
  isDir: boolean;
  dataStart: number;
}

/** Validates one central-directory entry against the limits; returns its normalised name. */
function checkEntry(info: ZipEntryInfo, budget: ExtractBudget, limits: ExtractLimits): { rel: string; isDir: boolean } {
  const shown = JSON.stringify(info.name);
  budget.countEntry();
  const name = normalizeEntryName(info.name);
  const mode = info.externalAttr >>> 16;
  const type = mode & S_IFMT;
  if (type === S_IFLNK) throw new ArchiveError(`entry ${shown} is a symbolic link`);
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) throw new ArchiveError(`entry ${shown} is a special file`);
  const isDir = name.isDir || type === S_IFDIR;
  if (info.flags & 0x1) throw new ArchiveError(`entry ${shown} is encrypted`);
  if (isDir) {
    if (info.uncompressedSize !== 0) throw new ArchiveError(`directory entry ${shown} has data`);
  } else {
    if (info.method !== 0 && info.method !== 8) {
      throw new ArchiveError(`entry ${shown} uses compression method ${info.method}; only stored and deflated are supported`);
    }
    if (info.method === 0 && info.compressedSize !== info.uncompressedSize) {
      throw corrupt(`stored entry ${shown} has different compressed and uncompressed sizes`);
    }
    const ratio = info.uncompressedSize / Math.max(info.compressedSize, 1);
    if (info.uncompressedSize >= RATIO_CHECK_MIN_BYTES && ratio > limits.maxCompressionRatio) {
      throw new ArchiveError(
        `entry ${shown} has a compression ratio of ${Math.round(ratio)}:1, above the limit of ${limits.maxCompressionRatio}:1`,
      );
    }
    budget.declare(name.rel, info.uncompressedSize);
  }
  budget.claim({ rel: name.rel, isDir }, info.name);
  return { rel: name.rel, isDir };
}

/** Reads each local header, checks it matches the central one, and that entries' data do not overlap. */
async function planData(handle: FileHandle, dir: ZipDirectory, checked: Array<{ rel: string; isDir: boolean }>): Promise<PlannedEntry[]> {
  const planned: PlannedEntry[] = [];
  for (let i = 0; i < dir.entries.length; i++) {
    const info = dir.entries[i]!;
    const shown = JSON.stringify(info.name);
    if (info.localHeaderOffset + LOCAL_SIZE > dir.centralDirectoryOffset) throw corrupt(`entry ${shown} lies outside the archive`);
    const local = await readAt(handle, info.localHeaderOffset, LOCAL_SIZE);
    if (local.readUInt32LE(0) !== SIG_LOCAL) throw corrupt(`entry ${shown} has no local header`);
    const nameLen = local.readUInt16LE(26);
    const extraLen = local.readUInt16LE(28);
    const localName = await readAt(handle, info.localHeaderOffset + LOCAL_SIZE, nameLen);
    if (!localName.equals(info.rawName)) {
      throw new ArchiveError(`entry ${shown} has a different name in its local header (${JSON.stringify(localName.toString('utf8'))})`);
    }
    const dataStart = info.localHeaderOffset + LOCAL_SIZE + nameLen + extraLen;
    if (dataStart + info.compressedSize > dir.centralDirectoryOffset) throw corrupt(`entry ${shown} runs past the end of its data`);
    planned.push({ info, rel: checked[i]!.rel, isDir: checked[i]!.isDir, dataStart });
  }
  const byOffset = [...planned].sort((a, b) => a.info.localHeaderOffset - b.info.localHeaderOffset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    if (byOffset[i]!.info.localHeaderOffset < prev.dataStart + prev.info.compressedSize) {
      throw new ArchiveError(`entries ${JSON.stringify(prev.info.name)} and ${JSON.stringify(byOffset[i]!.info.name)} overlap`);
    }
  }
  return planned;
}

/** Computes the CRC-32 of what passes through. */
class Crc32Stage extends Transform {
  crc = 0;
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

async function extractEntry(handle: FileHandle, dest: string, entry: PlannedEntry, budget: ExtractBudget): Promise<void> {
  const target = entryTarget(dest, entry.rel);
  if (entry.isDir) {
    await ensureDir(target);
    return;
  }
  await ensureDir(path.dirname(target));
  const { info } = entry;
  const shown = JSON.stringify(info.name);
  const source: Readable =
    info.compressedSize === 0
      ? Readable.from([])
      : handle.createReadStream({ start: entry.dataStart, end: entry.dataStart + info.compressedSize - 1, autoClose: false });
  const crcStage = new Crc32Stage();
  const meter = budget.meter(entry.rel, info.uncompressedSize);
  const out = createWriteStream(target, { flags: 'wx', mode: 0o644 });
  try {
    if (info.method === 8) await pipeline(source, createInflateRaw(), meter, crcStage, out);
    else await pipeline(source, meter, crcStage, out);
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw corrupt(`entry ${shown} cannot be inflated (${(err as Error).message})`);
    throw err;
  }
  if (crcStage.bytes !== info.uncompressedSize) throw corrupt(`entry ${shown} is shorter than its header says`);
  if (crcStage.crc !== info.crc32) throw corrupt(`entry ${shown} fails its CRC check`);
}

/** Extracts a zip into `dest` (which must exist and be empty). Throws ArchiveError for a bad archive. */
export async function extractZip(file: string, dest: string, limits: ExtractLimits): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const dir = await readZipDirectory(handle, size, limits.maxEntries);
    const budget = new ExtractBudget(limits);
    const checked = dir.entries.map((info) => checkEntry(info, budget, limits));
    const planned = await planData(handle, dir, checked);
    for (const entry of planned) await extractEntry(handle, dest, entry, budget);
  } finally {
    await handle.close();
  }
}
