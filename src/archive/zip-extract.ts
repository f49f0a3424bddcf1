/**
 * Zip extraction with adm-zip. adm-zip parses the archive (end records, ZIP64 records, central and
 * local headers), inflates each entry with its output capped at the declared size, and checks CRCs;
 * this module decides what is allowed. Every entry is validated with the guards of extract-guard.ts
 * before anything is written; then entries are written one by one while the bytes really produced
 * are counted against the budget.
 *
 * adm-zip works on a Buffer holding the whole file (and one per inflated entry), so a zip is read into
 * memory: files over MAX_ZIP_FILE_BYTES, or larger than an archive within `maxTotalBytes` can be, are
 * refused before reading; .tar.gz archives are streamed and have no such cap.
 *
 * Defences beyond the name and budget checks: symlink and special-file entries (Unix mode in the high
 * 16 bits of the external attributes), encrypted entries, compression methods other than stored and
 * deflated, stored entries whose two sizes differ, the per-entry compression ratio, entries whose data
 * overlap (the "overlapping files" zip bomb), and a written size that differs from the declared one.
 * Two checks of the former hand-written reader are gone because adm-zip does not expose what they need
 * and re-parsing the zip would defeat the point: a local-header name that differs from the central
 * one (we extract by the central name, which is the one validated), and entry data running into the
 * central directory (adm-zip only checks that data ends inside the file).
 */
import { constants as bufferConstants } from 'node:buffer';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import AdmZip from 'adm-zip';
import {
  ArchiveError,
  ExtractBudget,
  ensureDir,
  entryTarget,
  entryWriteError,
  normalizeEntryName,
  RATIO_CHECK_MIN_BYTES,
} from './extract-guard.js';
import { MAX_ZIP_FILE_BYTES, type ExtractLimits } from './types.js';

const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

interface PlannedEntry {
  entry: AdmZip.IZipEntry;
  name: string;
  rel: string;
  isDir: boolean;
  /** Declared uncompressed size. */
  size: number;
}

const corrupt = (what: string): ArchiveError => new ArchiveError(`the zip archive is truncated or corrupt: ${what}`);

/**
 * Translates what adm-zip threw into an ArchiveError. Everything thrown while parsing or inflating comes
 * from the archive's bytes (the file is already in memory), so all of it is the archive's fault.
 * adm-zip has no error codes; its messages (util/errors.js) start with "ADM-ZIP: ".
 */
function admZipError(err: unknown, entryName?: string): ArchiveError {
  if (err instanceof ArchiveError) return err;
  const message = (err instanceof Error ? err.message : String(err)).replace(/^ADM-ZIP: /, '');
  const duplicate = /^Duplicate entry name (.*)$/.exec(message);
  if (duplicate) return new ArchiveError(`duplicate entry ${duplicate[1]}`);
  if (entryName === undefined) return corrupt(message);
  const shown = JSON.stringify(entryName);
  if (message.includes('exceeds the declared uncompressed size')) return new ArchiveError(`entry ${shown} is larger than its header says`);
  if (message.startsWith('CRC32 checksum failed')) return corrupt(`entry ${shown} fails its CRC check`);
  return corrupt(`entry ${shown} cannot be read (${message})`);
}

/** The largest file that can hold at most `maxTotalBytes` of content. */
function maxZipFileBytes(limits: ExtractLimits): number {
  // Headroom for the zip's own structure: deflate grows incompressible data by well under 1%, and each
  // entry costs two headers (~80 bytes plus twice its name, rarely 1 KiB in all); 64 KiB for the end records.
  const headroom = Math.ceil(limits.maxTotalBytes / 100) + limits.maxEntries * 1024 + 64 * 1024;
  return Math.min(MAX_ZIP_FILE_BYTES, limits.maxTotalBytes + headroom);
}

/** Reads the whole file, refusing one too large to hold in memory or to fit the limits. */
async function readZipFile(file: string, limits: ExtractLimits): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size > MAX_ZIP_FILE_BYTES) {
      throw new ArchiveError(
        `the zip file is ${size} bytes; zip archives are read into memory and may be at most ${MAX_ZIP_FILE_BYTES} bytes (package larger models as .tar.gz, which is streamed)`,
      );
    }
    const cap = maxZipFileBytes(limits);
    if (size > cap) {
      throw new ArchiveError(`the zip file is ${size} bytes, more than an archive within the limit of ${limits.maxTotalBytes} uncompressed bytes can be`);
    }
    const data = await handle.readFile();
    if (data.length > cap) throw new ArchiveError('the zip file grew while it was being read');
    return data;
  } finally {
    await handle.close();
  }
}

/** Validates one entry against the limits and records it in the budget; writes nothing. */
function checkEntry(entry: AdmZip.IZipEntry, budget: ExtractBudget, limits: ExtractLimits): PlannedEntry {
  const { header } = entry;
  const name = entry.entryName;
  const shown = JSON.stringify(name);
  budget.countEntry();
  const normalized = normalizeEntryName(name);
  const type = (header.attr >>> 16) & S_IFMT;
  if (type === S_IFLNK) throw new ArchiveError(`entry ${shown} is a symbolic link`);
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) throw new ArchiveError(`entry ${shown} is a special file`);
  const isDir = normalized.isDir || type === S_IFDIR;
  if (header.encrypted) throw new ArchiveError(`entry ${shown} is encrypted`);
  if (isDir) {
    if (header.size !== 0) throw new ArchiveError(`directory entry ${shown} has data`);
  } else {
    if (header.method !== METHOD_STORED && header.method !== METHOD_DEFLATED) {
      throw new ArchiveError(`entry ${shown} uses compression method ${header.method}; only stored and deflated are supported`);
    }
    if (header.method === METHOD_STORED && header.compressedSize !== header.size) {
      throw corrupt(`stored entry ${shown} has different compressed and uncompressed sizes`);
    }
    const ratio = header.size / Math.max(header.compressedSize, 1);
    if (header.size >= RATIO_CHECK_MIN_BYTES && ratio > limits.maxCompressionRatio) {
      throw new ArchiveError(
        `entry ${shown} has a compression ratio of ${Math.round(ratio)}:1, above the limit of ${limits.maxCompressionRatio}:1`,
      );
    }
    // adm-zip inflates an entry into one Buffer; zlib refuses a larger output cap with an obscure error.
    if (header.size > bufferConstants.MAX_LENGTH) {
      throw new ArchiveError(`entry ${shown} is ${header.size} bytes, more than a zip entry can be here (package larger models as .tar.gz)`);
    }
    budget.declare(normalized.rel, header.size);
  }
  budget.claim({ rel: normalized.rel, isDir }, name);
  try {
    // Loads the local header without inflating anything: adm-zip throws if it is missing or if the
    // entry's data runs past the end of the file, and afterwards `realDataOffset` is known.
    entry.getCompressedData();
  } catch (err) {
    throw admZipError(err, name);
  }
  return { entry, name, rel: normalized.rel, isDir, size: header.size };
}

/** Refuses entries whose local header and data overlap another's: one stored block read many times. */
function checkOverlaps(planned: readonly PlannedEntry[]): void {
  const spans = planned
    .map((p) => ({ name: p.name, start: p.entry.header.offset, end: p.entry.header.realDataOffset + p.entry.header.compressedSize }))
    .sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!;
    if (spans[i]!.start < prev.end) {
      throw new ArchiveError(`entries ${JSON.stringify(prev.name)} and ${JSON.stringify(spans[i]!.name)} overlap`);
    }
  }
}

/** Inflates one entry with adm-zip's async path (zlib off the main thread; output capped at the declared size). */
function inflateEntry(entry: AdmZip.IZipEntry): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    try {
      // The callback's error is an Error at run time, whatever the typings say.
      entry.getDataAsync((data: Buffer, err?: unknown) => (err ? reject(admZipError(err, entry.entryName)) : resolve(data)));
    } catch (err) {
      // Stored entries with a bad CRC and unknown methods throw as well as calling back.
      reject(admZipError(err, entry.entryName));
    }
  });
}

async function writeEntry(dest: string, planned: PlannedEntry, budget: ExtractBudget): Promise<void> {
  const target = entryTarget(dest, planned.rel);
  if (planned.isDir) {
    await ensureDir(target);
    return;
  }
  const data = await inflateEntry(planned.entry);
  budget.record(planned.rel, data.length, data.length, planned.size);
  // adm-zip returns whatever bytes an empty or stored entry has without comparing them with its size.
  if (data.length !== planned.size) throw corrupt(`entry ${JSON.stringify(planned.name)} is shorter than its header says`);
  await ensureDir(path.dirname(target));
  await fs.writeFile(target, data, { flag: 'wx', mode: 0o644 });
}

/** Extracts a zip into `dest` (which must exist and be empty). Throws ArchiveError for a bad archive. */
export async function extractZip(file: string, dest: string, limits: ExtractLimits): Promise<void> {
  const buffer = await readZipFile(file, limits);
  let entries: AdmZip.IZipEntry[];
  try {
    const zip = new AdmZip(buffer);
    // Read from the end record before the central directory is parsed.
    const count = zip.getEntryCount();
    if (count > limits.maxEntries) throw new ArchiveError(`the archive has more than ${limits.maxEntries} entries (${count})`);
    entries = zip.getEntries();
  } catch (err) {
    throw admZipError(err);
  }
  const budget = new ExtractBudget(limits);
  const planned = entries.map((entry) => checkEntry(entry, budget, limits));
  checkOverlaps(planned);
  for (const entry of planned) {
    await writeEntry(dest, entry, budget).catch((err: unknown) => {
      throw entryWriteError(err, entry.rel);
    });
  }
}
