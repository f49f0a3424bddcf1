/** Extraction defences: every hostile archive gives InvalidModelException and leaves nothing behind. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ArchiveError } from '../../src/archive/extract-guard.js';
import { openArchive } from '../../src/archive/open-archive.js';
import { extractTar } from '../../src/archive/tar-extract.js';
import { DEFAULT_EXTRACT_LIMITS, MAX_ZIP_FILE_BYTES, type ExtractLimits } from '../../src/archive/types.js';
import { headerOffsets, leftovers, makeTempDir, rejectsInvalid, tarBytes, tgzBomb, tgzOf, zipOf } from './helpers.js';

const MANIFEST = { name: 'MAR-INF/MANIFEST.json', data: '{"model":{"modelName":"m"}}' };

async function setup(): Promise<{ work: string; tempDir: string }> {
  const work = await makeTempDir();
  const tempDir = path.join(work, 'tmp');
  await fs.mkdir(tempDir);
  return { work, tempDir };
}

/** Opens `file`, expects a 400 matching `pattern`, and checks that nothing was left under tempDir. */
async function expectRefused(file: string, tempDir: string, pattern: RegExp, limits?: Partial<ExtractLimits>): Promise<void> {
  await rejectsInvalid(openArchive(file, { tempDir, limits: { ...DEFAULT_EXTRACT_LIMITS, ...limits } }), pattern);
  assert.deepEqual(await leftovers(tempDir), []);
}

describe('zip defences', () => {
  it('refuses a ".." entry (zip slip) and writes nothing outside', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'slip.mar'), [MANIFEST, { name: '../../evil.txt', data: 'x' }]);
    await expectRefused(file, tempDir, /slip\.mar: entry "\.\.\/\.\.\/evil\.txt" has a "\.\." path component/);
    await assert.rejects(fs.stat(path.join(tempDir, 'evil.txt')));
    await assert.rejects(fs.stat(path.join(work, 'evil.txt')));
  });

  it('refuses absolute paths, drive letters and backslashes', async () => {
    const { work, tempDir } = await setup();
    const cases: Array<[string, RegExp]> = [
      ['/tmp/abs.txt', /absolute path/],
      ['C:/x.txt', /drive letter/],
      ['..\\x.txt', /backslash/],
    ];
    for (const [name, pattern] of cases) {
      const file = await zipOf(path.join(work, `c${cases.findIndex((c) => c[0] === name)}.mar`), [MANIFEST, { name, data: 'x' }]);
      await expectRefused(file, tempDir, pattern);
    }
  });

  it('refuses a symlink entry (Unix mode in the external attributes)', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'link.mar'), [MANIFEST, { name: 'link', data: '/etc/passwd', mode: 0o120777 }]);
    await expectRefused(file, tempDir, /entry "link" is a symbolic link/);
  });

  it('refuses duplicate entries', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'dup.mar'), [MANIFEST, { name: 'a.txt', data: '1' }, { name: './a.txt', data: '2' }]);
    await expectRefused(file, tempDir, /duplicate entry "\.\/a\.txt"/);
    const exact = await zipOf(path.join(work, 'dup2.mar'), [MANIFEST, { name: 'a.txt', data: '1' }, { name: 'a.txt', data: '2' }]);
    await expectRefused(exact, tempDir, /dup2\.mar: duplicate entry "a\.txt"/);
  });

  it('refuses encrypted entries and unsupported compression methods', async () => {
    const { work, tempDir } = await setup();
    const encrypted = await zipOf(path.join(work, 'enc.mar'), [MANIFEST, { name: 'a.txt', data: 'x', encrypted: true }]);
    await expectRefused(encrypted, tempDir, /entry "a\.txt" is encrypted/);
    const bzip2 = await zipOf(path.join(work, 'bz.mar'), [MANIFEST, { name: 'a.txt', data: 'x', method: 12 }]);
    await expectRefused(bzip2, tempDir, /entry "a\.txt" uses compression method 12; only stored and deflated are supported/);
  });

  it('refuses entries whose data overlap', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'overlap.mar'), [{ name: 'a.txt', data: 'aaaa' }, { name: 'b.txt', data: 'aaaa' }, MANIFEST], { store: true });
    // Point b.txt's central entry at a.txt's local header: the same bytes read twice.
    const buf = await fs.readFile(file);
    buf.writeUInt32LE(headerOffsets(buf, 'a.txt').local, headerOffsets(buf, 'b.txt').central + 42);
    await fs.writeFile(file, buf);
    await expectRefused(file, tempDir, /entries "a\.txt" and "b\.txt" overlap/);
  });

  it('refuses an entry whose compression ratio is over the limit (zip bomb)', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'bomb.mar'), [MANIFEST, { name: 'zeros.bin', data: Buffer.alloc(2 * 1024 * 1024) }]);
    await expectRefused(file, tempDir, /"zeros\.bin" has a compression ratio of \d+:1, above the limit of 200:1/);
  });

  it('refuses an archive whose total uncompressed size is over the limit', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'big.mar'), [
      MANIFEST,
      { name: 'a.bin', data: randomBytes(600) },
      { name: 'b.bin', data: randomBytes(600) },
    ]);
    await expectRefused(file, tempDir, /uncompressed size exceeds the limit of 1000 bytes/, { maxTotalBytes: 1000 });
  });

  it('enforces sizes while inflating, whatever the headers say', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'liar.mar'), [MANIFEST, { name: 'big.bin', data: randomBytes(100_000) }]);
    // Rewrite the declared uncompressed size of big.bin (local and central headers) to 10 bytes.
    const buf = await fs.readFile(file);
    const { local, central } = headerOffsets(buf, 'big.bin');
    buf.writeUInt32LE(10, local + 22);
    buf.writeUInt32LE(10, central + 24);
    await fs.writeFile(file, buf);
    await expectRefused(file, tempDir, /"big\.bin" is larger than its header says/);
  });

  it('refuses a truncated zip', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'cut.mar'), [MANIFEST, { name: 'a.bin', data: randomBytes(5000) }]);
    const buf = await fs.readFile(file);
    await fs.writeFile(file, buf.subarray(0, Math.floor(buf.length / 2)));
    await expectRefused(file, tempDir, /cut\.mar: the zip archive is truncated or corrupt: .*No END header found/);
  });

  it('refuses a zip whose data is corrupt', async () => {
    const { work, tempDir } = await setup();
    const file = await zipOf(path.join(work, 'bad.mar'), [MANIFEST, { name: 'a.txt', data: 'hello world '.repeat(1000) }], { store: true });
    const buf = await fs.readFile(file);
    const at = buf.indexOf('hello world');
    buf.write('HELLO', at);
    await fs.writeFile(file, buf);
    await expectRefused(file, tempDir, /"a\.txt" fails its CRC check/);

    const deflated = await zipOf(path.join(work, 'bad2.mar'), [MANIFEST, { name: 'a.txt', data: 'hello world '.repeat(1000) }]);
    const bytes = await fs.readFile(deflated);
    const data = headerOffsets(bytes, 'a.txt').local + 30 + 'a.txt'.length;
    for (let i = 0; i < 8; i++) bytes[data + i] ^= 0xff;
    await fs.writeFile(deflated, bytes);
    await expectRefused(deflated, tempDir, /bad2\.mar: the zip archive is truncated or corrupt: entry "a\.txt" cannot be read/);
  });

  it('refuses more entries than allowed', async () => {
    const { work, tempDir } = await setup();
    const entries = [MANIFEST, ...['a', 'b', 'c', 'd'].map((n) => ({ name: n, data: n }))];
    const file = await zipOf(path.join(work, 'many.mar'), entries);
    await expectRefused(file, tempDir, /more than 3 entries \(5\)/, { maxEntries: 3 });
  });

  it('refuses a zip file too large to read into memory, or larger than the limits allow, before reading it', async () => {
    const { work, tempDir } = await setup();
    const huge = await zipOf(path.join(work, 'huge.mar'), [MANIFEST]);
    await fs.truncate(huge, MAX_ZIP_FILE_BYTES + 1); // sparse: no disk space used
    await expectRefused(huge, tempDir, /zip archives are read into memory and may be at most 2147483647 bytes \(package larger models as \.tar\.gz/);
    const big = await zipOf(path.join(work, 'big.mar'), [MANIFEST, { name: 'a.bin', data: randomBytes(100_000) }]);
    await expectRefused(big, tempDir, /more than an archive within the limit of 1000 uncompressed bytes can be/, { maxTotalBytes: 1000, maxEntries: 3 });
  });
});

describe('tarball defences', () => {
  it('refuses a ".." entry', async () => {
    const { work, tempDir } = await setup();
    const file = await tgzOf(path.join(work, 'slip.tar.gz'), [{ name: 'm/../../evil.txt', data: 'x' }]);
    await expectRefused(file, tempDir, /slip\.tar\.gz: entry "m\/\.\.\/\.\.\/evil\.txt" has a "\.\." path component/);
    await assert.rejects(fs.stat(path.join(work, 'evil.txt')));
  });

  it('refuses an absolute path', async () => {
    const { work, tempDir } = await setup();
    const file = await tgzOf(path.join(work, 'abs.tgz'), [{ name: '/tmp/evil.txt', data: 'x' }]);
    await expectRefused(file, tempDir, /absolute path/);
  });

  it('refuses symlinks, hard links and devices', async () => {
    const { work, tempDir } = await setup();
    const cases: Array<[string, string, RegExp]> = [
      ['2', 'sym.tgz', /entry "link" is a symbolic link/],
      ['1', 'hard.tgz', /entry "link" is a hard link/],
      ['3', 'dev.tgz', /entry "link" is a device/],
    ];
    for (const [type, name, pattern] of cases) {
      const items = [{ name: 'ok.txt', data: 'x' }, { name: 'link', type, linkname: type === '3' ? undefined : '/etc/passwd' }];
      await expectRefused(await tgzOf(path.join(work, name), items), tempDir, pattern);
    }
  });

  it('refuses duplicate entries', async () => {
    const { work, tempDir } = await setup();
    const file = await tgzOf(path.join(work, 'dup.tgz'), [{ name: 'a.txt', data: '1' }, { name: 'a.txt', data: '2' }]);
    await expectRefused(file, tempDir, /duplicate entry "a\.txt"/);
  });

  it('refuses a tarball over the total size limit (gzip bomb)', async () => {
    const { work, tempDir } = await setup();
    const file = await tgzOf(path.join(work, 'bomb.tgz'), [{ name: 'zeros.bin', data: Buffer.alloc(4 * 1024 * 1024) }]);
    assert.ok((await fs.stat(file)).size < 20_000);
    await expectRefused(file, tempDir, /uncompressed size exceeds the limit of 1048576 bytes/, { maxTotalBytes: 1024 * 1024 });
  });

  it('refuses a 1 MB tar.gz that expands to 1 GiB by its compression ratio, after writing a bounded part (issue 13)', async () => {
    const { work, tempDir } = await setup();
    const file = await tgzBomb(path.join(work, 'bomb.tar.gz'), 1024 ** 3);
    assert.ok((await fs.stat(file)).size < 1.1 * 1024 * 1024);
    await expectRefused(file, tempDir, /bomb\.tar\.gz: the archive expands more than \d+:1 \(\d+ bytes from \d+ bytes\), above the compression-ratio limit of 200:1/);
    // What reached the disk before the refusal (extractTar leaves it for its caller to remove).
    const dest = path.join(work, 'dest');
    await fs.mkdir(dest);
    await assert.rejects(extractTar(file, dest, DEFAULT_EXTRACT_LIMITS), ArchiveError);
    const written = (await fs.stat(path.join(dest, 'zeros.bin'))).size;
    assert.ok(written < 64 * 1024 * 1024, `${written} bytes written before the refusal`);
    // A second gzip layer would be inflated by node-tar itself, outside the budget: refused.
    const twice = path.join(work, 'twice.tar.gz');
    await fs.writeFile(twice, gzipSync(await fs.readFile(file)));
    await expectRefused(twice, tempDir, /twice\.tar\.gz: the tarball is compressed twice/);
  });

  it('refuses a corrupt tarball', async () => {
    const { work, tempDir } = await setup();
    const file = path.join(work, 'garbage.tar.gz');
    await fs.writeFile(file, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(2000)]));
    await expectRefused(file, tempDir, /garbage\.tar\.gz: the tarball is truncated or corrupt/);
  });

  it('refuses a truncated tarball', async () => {
    const { work, tempDir } = await setup();
    const full = gzipSync(tarBytes([{ name: 'a.bin', data: randomBytes(20_000) }]));
    const file = path.join(work, 'cut.tar.gz');
    await fs.writeFile(file, full.subarray(0, Math.floor(full.length / 2)));
    await expectRefused(file, tempDir, /cut\.tar\.gz: the tarball is truncated or corrupt/);
  });

  it('refuses more entries than allowed', async () => {
    const { work, tempDir } = await setup();
    const file = await tgzOf(path.join(work, 'many.tgz'), ['a', 'b', 'c', 'd'].map((n) => ({ name: n, data: n })));
    await expectRefused(file, tempDir, /more than 3 entries/, { maxEntries: 3 });
  });
});

describe('format detection', () => {
  it('refuses a file that is neither zip nor tarball', async () => {
    const { work, tempDir } = await setup();
    const file = path.join(work, 'notes.txt');
    await fs.writeFile(file, 'just text');
    await expectRefused(file, tempDir, /Unrecognized archive format: notes\.txt/);
  });

  it('opens by content when the extension says nothing (or says the wrong thing)', async () => {
    const { work, tempDir } = await setup();
    const zip = await zipOf(path.join(work, 'model.bin'), [MANIFEST, { name: 'a.txt', data: 'zip' }]);
    const tgz = await tgzOf(path.join(work, 'really-a-tarball.mar'), [{ name: 'a.txt', data: 'tar' }]);
    for (const [file, expected] of [[zip, 'zip'], [tgz, 'tar']] as const) {
      const opened = await openArchive(file, { tempDir });
      assert.equal(await fs.readFile(path.join(opened.modelDir, 'a.txt'), 'utf8'), expected);
      await opened.dispose();
    }
    assert.deepEqual(await leftovers(tempDir), []);
  });
});
