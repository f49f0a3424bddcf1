/**
 * A streaming zip writer for the archiver. adm-zip builds the whole archive in memory, which fails for
 * model files past Node's Buffer limit; this writer streams each file from disk and patches the local
 * header afterwards (as Python's zipfile does on a seekable file), so the output has no data
 * descriptors. That matters: Java's ZipInputStream — what TorchServe reads .mar files with — cannot
 * read stored entries that use data descriptors. ZIP64 records are written when sizes need them.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw, crc32 } from 'node:zlib';

export interface ZipSource {
  /** Name inside the archive ('/'-separated). */
  name: string;
  /** A file to copy in; or `data`. */
  file?: string;
  data?: Buffer;
  /** Unix mode recorded in the external attributes (defaults: the file's mode, or 0o100644). */
  mode?: number;
  mtime?: Date;
}

export interface WriteZipOptions {
  /** Store without compression (`--archive-format zip-store`). */
  store: boolean;
  /** Write ZIP64 records even for small archives (tests exercise the ZIP64 path with it). */
  forceZip64?: boolean;
}

const U32_MAX = 0xffffffff;

function dosDateTime(date: Date): { time: number; date: number } {
  const year = date.getFullYear();
  if (year < 1980) return { time: 0, date: (1 << 5) | 1 };
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

interface WrittenEntry {
  name: Buffer;
  flags: number;
  method: number;
  time: number;
  date: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
  mode: number;
  zip64: boolean;
}

class Output {
  offset = 0;
  constructor(private readonly handle: FileHandle) {}
  async write(buf: Buffer): Promise<void> {
    await this.handle.write(buf, 0, buf.length, this.offset);
    this.offset += buf.length;
  }
  async patch(buf: Buffer, position: number): Promise<void> {
    await this.handle.write(buf, 0, buf.length, position);
  }
}

async function writeEntry(out: Output, source: ZipSource, opts: WriteZipOptions): Promise<WrittenEntry> {
  const st = source.file !== undefined ? await fs.stat(source.file) : null;
  const size = st !== null ? st.size : (source.data?.length ?? 0);
  const name = Buffer.from(source.name, 'utf8');
  const flags = /[^\x00-\x7f]/.test(source.name) ? 0x800 : 0;
  const method = opts.store ? 0 : 8;
  // Python's rule: deflate can grow data slightly, so leave 5% headroom before 4 GiB.
  const zip64 = opts.forceZip64 === true || size * 1.05 > U32_MAX;
  const { time, date } = dosDateTime(source.mtime ?? st?.mtime ?? new Date());
  const offset = out.offset;

  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(zip64 ? 45 : 20, 4);
  local.writeUInt16LE(flags, 6);
  local.writeUInt16LE(method, 8);
  local.writeUInt16LE(time, 10);
  local.writeUInt16LE(date, 12);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(zip64 ? 20 : 0, 28);
  const extra = Buffer.alloc(zip64 ? 20 : 0);
  if (zip64) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(16, 2);
  }
  await out.write(Buffer.concat([local, name, extra]));

  let crc = 0;
  let uncompressed = 0;
  let compressed = 0;
  const input: Readable = source.file !== undefined ? createReadStream(source.file) : Readable.from([source.data ?? Buffer.alloc(0)]);
  async function* checksum(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      crc = crc32(chunk, crc);
      uncompressed += chunk.length;
      yield chunk;
    }
  }
  async function sink(chunks: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of chunks) {
      compressed += chunk.length;
      await out.write(chunk);
    }
  }
  if (method === 8) await pipeline(input, checksum, createDeflateRaw({ level: 6 }), sink);
  else await pipeline(input, checksum, sink);

  // Fill in what was unknown when the local header was written.
  const sizes = Buffer.alloc(12);
  sizes.writeUInt32LE(crc, 0);
  sizes.writeUInt32LE(zip64 ? U32_MAX : compressed, 4);
  sizes.writeUInt32LE(zip64 ? U32_MAX : uncompressed, 8);
  await out.patch(sizes, offset + 14);
  if (zip64) {
    const big = Buffer.alloc(16);
    big.writeBigUInt64LE(BigInt(uncompressed), 0);
    big.writeBigUInt64LE(BigInt(compressed), 8);
    await out.patch(big, offset + 30 + name.length + 4);
  }
  const mode = source.mode ?? (st !== null ? st.mode & 0xffff : 0o100644);
  return { name, flags, method, time, date, crc, compressedSize: compressed, size: uncompressed, offset, mode, zip64: zip64 || offset >= U32_MAX };
}

function centralHeader(e: WrittenEntry): Buffer {
  const header = Buffer.alloc(46);
  const extra = Buffer.alloc(e.zip64 ? 28 : 0);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE((3 << 8) | (e.zip64 ? 45 : 20), 4); // made by: Unix
  header.writeUInt16LE(e.zip64 ? 45 : 20, 6);
  header.writeUInt16LE(e.flags, 8);
  header.writeUInt16LE(e.method, 10);
  header.writeUInt16LE(e.time, 12);
  header.writeUInt16LE(e.date, 14);
  header.writeUInt32LE(e.crc, 16);
  header.writeUInt32LE(e.zip64 ? U32_MAX : e.compressedSize, 20);
  header.writeUInt32LE(e.zip64 ? U32_MAX : e.size, 24);
  header.writeUInt16LE(e.name.length, 28);
  header.writeUInt16LE(extra.length, 30);
  header.writeUInt32LE((e.mode << 16) >>> 0, 38);
  header.writeUInt32LE(e.zip64 ? U32_MAX : e.offset, 42);
  if (e.zip64) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(e.size), 4);
    extra.writeBigUInt64LE(BigInt(e.compressedSize), 12);
    extra.writeBigUInt64LE(BigInt(e.offset), 20);
  }
  return Buffer.concat([header, e.name, extra]);
}

function endRecords(count: number, cdOffset: number, cdSize: number, forceZip64: boolean): Buffer {
  const zip64 = forceZip64 || count >= 0xffff || cdOffset >= U32_MAX || cdSize >= U32_MAX;
  const parts: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE((3 << 8) | 45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(cdSize), 40);
    record.writeBigUInt64LE(BigInt(cdOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : count, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : count, 10);
  eocd.writeUInt32LE(zip64 ? U32_MAX : cdSize, 12);
  eocd.writeUInt32LE(zip64 ? U32_MAX : cdOffset, 16);
  parts.push(eocd);
  return Buffer.concat(parts);
}

/** Writes a zip of `entries` to `file` (which must not exist), in the given order. */
export async function writeZip(file: string, entries: readonly ZipSource[], opts: WriteZipOptions): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o644);
  try {
    const out = new Output(handle);
    const written: WrittenEntry[] = [];
    for (const entry of entries) written.push(await writeEntry(out, entry, opts));
    const cdOffset = out.offset;
    const central = Buffer.concat(written.map(centralHeader));
    await out.write(central);
    await out.write(endRecords(written.length, cdOffset, central.length, opts.forceZip64 === true));
  } finally {
    await handle.close();
  }
}
