/**
 * Property and fuzz tests of the archive reader: MANIFEST.json and model-config.yaml parsing, entry-name
 * checks, and extraction of generated hostile zips and tarballs (bad names, links, special files,
 * duplicates, lying or huge sizes, truncation, flipped bytes, random bytes). Every case either succeeds
 * or fails with the typed error (ArchiveError from the extractors, InvalidModelException from openArchive),
 * never writes outside its directory, and leaves nothing behind when it fails.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import fc from 'fast-check';
import { stringify as yamlStringify } from 'yaml';
import { ArchiveError, entryTarget, normalizeEntryName } from '../../src/archive/extract-guard.js';
import { EXTRACT_ROOT_NAME } from '../../src/archive/extract.js';
import {
  parseManifest,
  resolveArchiveFile,
  SUPPORTED_RUNTIMES,
  validateModelName,
  validateModelVersion,
} from '../../src/archive/manifest.js';
import { buildModelConfig, parseModelConfig } from '../../src/archive/model-config.js';
import { openArchive } from '../../src/archive/open-archive.js';
import { extractTar } from '../../src/archive/tar-extract.js';
import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from '../../src/archive/types.js';
import { extractZip } from '../../src/archive/zip-extract.js';
import { InvalidModelException, ModelNotFoundException } from '../../src/errors.js';
import { params, returnsOrThrows, settlesOrThrows, stringOver, trapUnhandled } from './support.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'ortserve-fuzz-archive-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Where an absolute entry name would land if an extractor honoured it; checked to stay absent. */
const ABSOLUTE_TARGET = path.join(os.tmpdir(), `ortserve-fuzz-escape-${process.pid}`);

// ---------------------------------------------------------------------------------------------------
// Parsers

const manifestValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('python', 'python3', 'LSP', 'java', '', null, 1, true, [], {}),
  fc.string({ maxLength: 10 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const MODEL_KEYS = ['modelName', 'modelVersion', 'version', 'serializedFile', 'handler', 'modelFile', 'requirementsFile', 'configFile', 'description', 'envelope', 'other', '__proto__'];
const manifestDoc = fc.dictionary(
  fc.constantFrom('runtime', 'model', 'createdOn', 'archiverVersion', 'description', 'extra', '__proto__'),
  fc.oneof({ weight: 2, arbitrary: fc.dictionary(fc.constantFrom(...MODEL_KEYS), manifestValue, { maxKeys: 6 }) }, { weight: 3, arbitrary: manifestValue }),
  { maxKeys: 5 },
);

describe('fuzz: MANIFEST.json', () => {
  it('parseManifest returns a manifest of strings with a supported runtime, or throws InvalidModelException (3000 cases)', () => {
    const text = fc.oneof(
      { weight: 4, arbitrary: manifestDoc.map((d) => JSON.stringify(d)) },
      { weight: 1, arbitrary: manifestDoc.map((d) => `\uFEFF${JSON.stringify(d)}`) },
      { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
      { weight: 1, arbitrary: stringOver(['{', '}', '"model"', '"runtime"', ':', ',', '"', '\uFEFF', 'null'], 30) },
    );
    fc.assert(
      fc.property(text, (t) => {
        const m = returnsOrThrows(() => parseManifest(t), [InvalidModelException], 'parseManifest');
        if (m === undefined) return;
        assert.ok(SUPPORTED_RUNTIMES.includes(m.runtime));
        for (const v of Object.values(m.model)) assert.equal(typeof v, 'string');
        for (const k of ['createdOn', 'archiverVersion', 'description'] as const) assert.ok(m[k] === undefined || typeof m[k] === 'string');
      }),
      params(101, 3000),
    );
  });

  const nameArb = stringOver(['..', '.', '/', '\\', '\0', 'a', 'MAR-INF', ' ', '~', '%2e', 'é'], 12);

  it('resolveArchiveFile returns a path strictly inside the model directory or throws InvalidModelException (2000 cases)', () => {
    const root = path.join(work, 'model-dir');
    fc.assert(
      fc.property(nameArb, (name) => {
        const target = returnsOrThrows(() => resolveArchiveFile(root, name, 'File'), [InvalidModelException], 'resolveArchiveFile');
        if (target !== undefined) assert.ok(target.startsWith(root + path.sep), target);
      }),
      params(102, 2000),
    );
  });

  it('validateModelName and validateModelVersion accept or throw InvalidModelException (2000 cases)', () => {
    fc.assert(
      fc.property(fc.option(nameArb, { nil: undefined }), (name) => {
        returnsOrThrows(() => validateModelName(name), [InvalidModelException], 'validateModelName');
        const ok = returnsOrThrows(() => (validateModelVersion(name), true), [InvalidModelException], 'validateModelVersion');
        if (ok) assert.ok(name !== undefined && !/[/\\\0]/.test(name) && name !== '..');
      }),
      params(103, 2000),
    );
  });
});

/** YAML text: documents the yaml package writes from generated values, and hostile fragments. */
const YAML_FRAGMENTS = [
  'minWorkers: ', 'maxWorkers: ', 'batchSize: ', 'deviceIds: ', 'deviceType: ', 'parallelType: ', 'torchrun:\n  nproc-per-node: ',
  'useJobTicket: ', '<<: *a\n', '&a ', '*a', '[*a]', '{a: *a}', '!!set ', '!!omap ', '!!binary ', '!!timestamp ', '!!int ', '!!float ',
  '2001-12-14', 'yes', 'no', 'on', '~', '0x1F', '0o17', '1_000', '.inf', '-.nan', '99999999999999999999', '-1', '4', '"4"',
  '\n', '  ', '- ', ': ', '? ', '|\n', '>\n', '---\n', '...\n', '%YAML 1.1\n', '#', '"', "'", '__proto__: ', 'a: 1\na: 2\n', 'minWorkers: &c [*c]\n', 'deviceIds: &d {k: *d}\n',
];
const yamlValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, 1e21, '4', ' 8 ', 'true', 'CPU', 'gpu', 'pp', 'TP', [0, 1], [-1], ['a'], [], {}, null, true),
  fc.jsonValue({ maxDepth: 2 }),
);
const CONFIG_KEYS = ['minWorkers', 'maxWorkers', 'batchSize', 'maxBatchDelay', 'responseTimeout', 'startupTimeout', 'jobQueueSize', 'parallelLevel', 'maxBatchTokens', 'useJobTicket', 'continuousBatching', 'deviceType', 'parallelType', 'deviceIds', 'torchrun', 'handler'];
const configDoc = fc.dictionary(fc.constantFrom(...CONFIG_KEYS), fc.oneof(yamlValue, fc.dictionary(fc.constantFrom('nproc-per-node', 'k'), yamlValue, { maxKeys: 2 })), { maxKeys: 8 });

function assertModelConfig(c: ReturnType<typeof buildModelConfig>): void {
  assert.equal(typeof c.raw, 'object');
  for (const [k, v] of Object.entries(c)) {
    if (k === 'raw') continue;
    if (k === 'deviceIds') assert.ok(Array.isArray(v) && v.every((id) => Number.isSafeInteger(id) && id >= 0));
    else if (k === 'deviceType' || k === 'parallelType') assert.equal(typeof v, 'string');
    else if (typeof v === 'number') assert.ok(Number.isSafeInteger(v) && v >= 0, `${k}=${v}`);
    else assert.equal(typeof v, 'boolean', k);
  }
}

describe('fuzz: model-config.yaml', () => {
  it('parseModelConfig returns a typed config or throws InvalidModelException (2000 cases)', () => {
    const text = fc.oneof(
      { weight: 2, arbitrary: configDoc.map((d) => yamlStringify(d)) },
      { weight: 3, arbitrary: fc.array(fc.constantFrom(...YAML_FRAGMENTS), { maxLength: 12 }).map((parts) => parts.join('')) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    );
    fc.assert(
      fc.property(text, (t) => {
        const warnings: string[] = [];
        const c = returnsOrThrows(() => parseModelConfig(t, 'model-config.yaml', warnings), [InvalidModelException], 'parseModelConfig');
        if (c !== undefined) assertModelConfig(c);
        assert.ok(warnings.every((w) => typeof w === 'string'));
      }),
      params(104, 2000),
    );
  });

  it('buildModelConfig never throws for any document, cyclic ones included (1000 cases)', () => {
    fc.assert(
      fc.property(configDoc, fc.constantFrom(...CONFIG_KEYS), fc.boolean(), (doc, key, cyclic) => {
        const raw = doc as Record<string, unknown>;
        if (cyclic) {
          const loop: unknown[] = [];
          loop.push(loop);
          raw[key] = loop;
        }
        assertModelConfig(buildModelConfig(raw, []));
      }),
      params(105, 1000),
    );
  });
});

describe('fuzz: entry names', () => {
  const name = stringOver(['..', '.', '/', '//', '\\', '\0', 'a', 'C:', 'MAR-INF', ' ', 'é'], 16);
  it('normalizeEntryName gives a relative name that stays inside the destination, or throws ArchiveError (3000 cases)', () => {
    const dest = path.join(work, 'dest');
    fc.assert(
      fc.property(name, (n) => {
        const e = returnsOrThrows(() => normalizeEntryName(n), [ArchiveError], 'normalizeEntryName');
        if (e === undefined) return;
        assert.ok(!e.rel.startsWith('/') && !e.rel.split('/').includes('..') && !e.rel.includes('\\'), e.rel);
        const target = returnsOrThrows(() => entryTarget(dest, e.rel), [ArchiveError], 'entryTarget');
        assert.ok(target !== undefined && (target === dest || target.startsWith(dest + path.sep)), String(target));
      }),
      params(106, 3000),
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Generated archives

/** Entry names: mostly ordinary, with every hostile form an archive can carry. */
const entryName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('model.onnx', 'handler.js', 'MAR-INF/MANIFEST.json', 'model-config.yaml', 'a/b.txt', 'a/', 'a', 'dir/', 'dir/x', './c', 'd//e') },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('', '', '', '/', './', '../', '../../', 'C:/', ABSOLUTE_TARGET + '/'),
        fc.array(fc.constantFrom('a', 'b', '..', '.', '', 'MAR-INF', 'x\\y', 'n\0ul', 'é', ' ', 'x'.repeat(300)), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('', '', '/'),
      )
      .map(([prefix, parts, suffix]) => prefix + parts.join('/') + suffix),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  // Over PATH_MAX once joined to the destination, with every component under NAME_MAX.
  { weight: 1, arbitrary: fc.integer({ min: 17, max: 20 }).map((n) => Array.from({ length: n }, () => 'y'.repeat(250)).join('/')) },
);

const entryData: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from('{"runtime":"python","model":{"modelName":"m","serializedFile":"model.onnx"}}'), Buffer.from('batchSize: 4\n')) },
  // Highly compressible and over the ratio check's floor: a zip bomb in miniature.
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(1024 * 1024 + 1)) },
);

interface ZipSpec {
  name: string;
  data: Buffer;
  mode?: number;
  method?: number;
  encrypted: boolean;
}

const zipEntry: fc.Arbitrary<ZipSpec> = fc.record({
  name: entryName,
  data: entryData,
  mode: fc.option(fc.oneof(fc.constantFrom(0o100644, 0o040755, 0o120777, 0o020644, 0o010644, 0o140755), fc.integer({ min: 0, max: 0xffff })), { nil: undefined, freq: 3 }),
  method: fc.option(fc.constantFrom(0, 8, 8, 1, 12, 14, 99, 0xffff), { nil: undefined, freq: 4 }),
  encrypted: fc.integer({ min: 0, max: 15 }).map((r) => r === 0),
});

type Mutation =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; positions: number[]; values: number[] }
  | { kind: 'size'; entry: number; size: number; local: boolean }
  | { kind: 'append'; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' } as const) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ kind: 'truncate', at }) as const) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })
      .map((fl) => ({ kind: 'flip', positions: fl.map(([p]) => p), values: fl.map(([, v]) => v) }) as const),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ entry: fc.nat(6), size: fc.constantFrom(0, 1, 0x7fffffff, 0xfffffffe, 0xffffffff, 1024 * 1024 * 1024), local: fc.boolean() })
      .map((r) => ({ kind: 'size', ...r }) as const),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: 'append', bytes }) as const) },
);

function applyMutation(buf: Buffer, m: Mutation, sizeField: (buf: Buffer, entry: number, size: number, local: boolean) => void): Buffer {
  switch (m.kind) {
    case 'none':
      return buf;
    case 'truncate':
      return buf.subarray(0, Math.floor(buf.length * m.at));
    case 'flip': {
      const out = Buffer.from(buf);
      m.positions.forEach((p, i) => {
        if (out.length > 0) out[Math.floor(p * out.length)] = m.values[i]!;
      });
      return out;
    }
    case 'size': {
      const out = Buffer.from(buf);
      sizeField(out, m.entry, m.size, m.local);
      return out;
    }
    case 'append':
      return Buffer.concat([buf, m.bytes]);
  }
}

function zipBytes(entries: ZipSpec[]): Buffer {
  const zip = new AdmZip(undefined, { noSort: true });
  entries.forEach((item, i) => {
    const entry = zip.addFile(`entry-${i}`, item.data);
    entry.entryName = item.name;
    if (item.mode !== undefined) entry.attr = (item.mode << 16) >>> 0;
    if (item.method !== undefined) entry.header.method = item.method;
    if (item.encrypted) entry.header.flags |= 0x1;
  });
  return zip.toBuffer();
}

/** Overwrites the uncompressed size of the n-th central (or local) header: a header that lies. */
function zipSizeField(buf: Buffer, n: number, size: number, local: boolean): void {
  const sig = local ? 0x04034b50 : 0x02014b50;
  const offset = local ? 22 : 24;
  let seen = 0;
  for (let i = 0; i + 46 <= buf.length; i++) {
    if (buf.readUInt32LE(i) !== sig) continue;
    if (seen++ === n) {
      buf.writeUInt32LE(size >>> 0, i + offset);
      return;
    }
  }
}

// --- tarballs, built by hand so that every header field can be hostile

interface TarSpec {
  name: string;
  /** ustar type flag. */
  type: string;
  data: Buffer;
  /** Size written in the header; the data length when absent. */
  declared?: number;
  linkname: string;
  /** Put the name in a pax extended header (needed for names over 100 bytes). */
  pax: boolean;
  badChecksum: boolean;
}

const tarEntry: fc.Arbitrary<TarSpec> = fc.record({
  name: entryName,
  type: fc.constantFrom('0', '0', '0', '0', '5', '5', '1', '2', '3', '4', '6', '7', 'g', 'L', 'K', 'x', 'Z', '\0'),
  data: entryData,
  declared: fc.option(fc.constantFrom(0, 1, 511, 513, 100_000, 2 ** 33, 2 ** 40, Number.MAX_SAFE_INTEGER), { nil: undefined, freq: 5 }),
  linkname: fc.constantFrom('', 'model.onnx', '../../etc/passwd', '/etc/passwd', ABSOLUTE_TARGET),
  pax: fc.boolean(),
  badChecksum: fc.integer({ min: 0, max: 19 }).map((r) => r === 0),
});

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function tarHeader(name: string, type: string, size: number, linkname: string, badChecksum: boolean): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(type === '5' ? 0o755 : 0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  if (size < 8 ** 11) h.write(octal(size, 12), 124, 'ascii');
  else {
    // GNU base-256 for sizes octal cannot hold.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  h.write(octal(1_700_000_000, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 1, 'latin1');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${(badChecksum ? sum + 1 : sum).toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function padded(data: Buffer): Buffer[] {
  return [data, Buffer.alloc((512 - (data.length % 512)) % 512)];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function tarBytes(entries: TarSpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const hasData = e.type === '0' || e.type === '7' || e.type === 'L' || e.type === 'K' || e.type === 'x' || e.type === 'g';
    const data = hasData ? e.data : Buffer.alloc(0);
    if (e.pax) {
      const pax = Buffer.from(paxRecord('path', e.name) + (e.declared !== undefined ? paxRecord('size', String(e.declared)) : ''));
      blocks.push(tarHeader('PaxHeader', 'x', pax.length, '', false), ...padded(pax));
    }
    blocks.push(tarHeader(e.name, e.type, e.declared ?? data.length, e.linkname, e.badChecksum), ...padded(data));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Overwrites the size of the n-th header with a base-256 value: a size that frames nothing real. */
function tarSizeField(buf: Buffer, n: number, size: number): void {
  const offset = n * 512;
  if (offset + 512 > buf.length) return;
  buf[offset + 124] = 0x80;
  let v = BigInt(size);
  for (let i = offset + 135; i > offset + 124; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

const limitsArb: fc.Arbitrary<ExtractLimits> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(DEFAULT_EXTRACT_LIMITS) },
  { weight: 1, arbitrary: fc.record({ maxTotalBytes: fc.constantFrom(0, 100, 4096, 2_000_000), maxEntries: fc.constantFrom(1, 3, 10), maxCompressionRatio: fc.constantFrom(1, 10, 200) }) },
);

/** Every path under `root`, relative, with a trailing '/' for directories. Symlinks are not followed. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const d of await fs.readdir(dir, { withFileTypes: true })) {
      const rel = path.relative(root, path.join(dir, d.name));
      if (d.isSymbolicLink()) out.push(`${rel}@`);
      else if (d.isDirectory()) {
        out.push(`${rel}/`);
        await walk(path.join(dir, d.name));
      } else out.push(rel);
    }
  };
  await walk(root);
  return out.sort();
}

let caseNo = 0;
/** A fresh case directory: `in/` holds the archive, `out/` is the extraction destination. */
async function caseDir(): Promise<{ root: string; input: string; out: string }> {
  const root = path.join(work, `case-${caseNo++}`);
  await fs.mkdir(path.join(root, 'in'), { recursive: true });
  await fs.mkdir(path.join(root, 'out'));
  return { root, input: path.join(root, 'in'), out: path.join(root, 'out') };
}

/** Asserts that the case wrote nothing outside `out/` (and only regular files and directories in it). */
async function assertContained(root: string, archiveName: string): Promise<void> {
  for (const p of await tree(root)) {
    assert.ok(p === 'in/' || p === `in/${archiveName}` || p === 'out/' || p.startsWith('out/'), `written outside the destination: ${p}`);
    assert.ok(!p.endsWith('@'), `a symbolic link was written: ${p}`);
  }
  assert.ok(!existsSync(ABSOLUTE_TARGET), `an absolute entry was written to ${ABSOLUTE_TARGET}`);
}

describe('fuzz: zip extraction (adm-zip)', () => {
  it('extractZip succeeds or throws ArchiveError, and writes only inside its destination (400 cases)', async () => {
    const trap = trapUnhandled();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(zipEntry, { minLength: 0, maxLength: 6 }), mutation, limitsArb, async (entries, m, limits) => {
          const { root, input, out } = await caseDir();
          const file = path.join(input, 'a.mar');
          await fs.writeFile(file, applyMutation(zipBytes(entries), m, zipSizeField));
          const r = await settlesOrThrows(() => extractZip(file, out, limits), [ArchiveError], 'extractZip');
          await assertContained(root, 'a.mar');
          if (r.ok) {
            const written = (await tree(out)).filter((p) => !p.endsWith('/'));
            const total = await Promise.all(written.map(async (p) => (await fs.stat(path.join(out, p))).size));
            assert.ok(total.reduce((a, b) => a + b, 0) <= limits.maxTotalBytes);
            assert.ok(written.length <= limits.maxEntries);
          }
          await fs.rm(root, { recursive: true, force: true });
        }),
        params(201, 400),
      );
      trap.check('extractZip');
    } finally {
      trap.dispose();
    }
  });

  it('random bytes, with or without a zip signature, are refused with ArchiveError (300 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(Buffer.alloc(0), Buffer.from('PK\x03\x04'), Buffer.from('PK\x05\x06')), fc.uint8Array({ maxLength: 300 }), async (prefix, bytes) => {
        const { root, input, out } = await caseDir();
        const file = path.join(input, 'r.mar');
        await fs.writeFile(file, Buffer.concat([prefix, bytes]));
        await settlesOrThrows(() => extractZip(file, out, DEFAULT_EXTRACT_LIMITS), [ArchiveError], 'extractZip(random)');
        await assertContained(root, 'r.mar');
        await fs.rm(root, { recursive: true, force: true });
      }),
      params(202, 300),
    );
  });
});

describe('fuzz: tarball extraction (node-tar)', () => {
  it('extractTar succeeds or throws ArchiveError, and writes only inside its destination (500 cases)', async () => {
    const trap = trapUnhandled();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(tarEntry, { minLength: 0, maxLength: 6 }),
          fc.boolean(),
          mutation,
          limitsArb,
          async (entries, gzip, m, limits) => {
            const { root, input, out } = await caseDir();
            const file = path.join(input, 'a.tar.gz');
            const raw = applyMutation(tarBytes(entries), m, (buf, n, size) => tarSizeField(buf, n, size));
            await fs.writeFile(file, gzip ? gzipSync(raw) : raw);
            const r = await settlesOrThrows(() => extractTar(file, out, limits), [ArchiveError], 'extractTar');
            await assertContained(root, 'a.tar.gz');
            if (r.ok) assert.ok((await tree(out)).filter((p) => !p.endsWith('/')).length <= limits.maxEntries);
            await fs.rm(root, { recursive: true, force: true });
          },
        ),
        params(203, 500),
      );
      trap.check('extractTar');
    } finally {
      trap.dispose();
    }
  });

  it('random bytes, plain or gzipped, are refused with ArchiveError or read as an empty tarball (300 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom('plain', 'gzip', 'gzip-truncated'), async (bytes, how) => {
        const { root, input, out } = await caseDir();
        const file = path.join(input, 'r.tgz');
        const gz = gzipSync(bytes);
        await fs.writeFile(file, how === 'plain' ? Buffer.from(bytes) : how === 'gzip' ? gz : gz.subarray(0, gz.length >> 1));
        await settlesOrThrows(() => extractTar(file, out, DEFAULT_EXTRACT_LIMITS), [ArchiveError], 'extractTar(random)');
        await assertContained(root, 'r.tgz');
        await fs.rm(root, { recursive: true, force: true });
      }),
      params(204, 300),
    );
  });
});

describe('fuzz: openArchive (extraction thread, manifest, config, clean-up)', () => {
  const manifest = fc.oneof(
    fc.constant('{"runtime":"python","model":{"modelName":"m","serializedFile":"model.onnx","configFile":"model-config.yaml"}}'),
    manifestDoc.map((d) => JSON.stringify(d)),
    fc.string({ maxLength: 20 }),
  );
  const archive = fc.record({
    zip: fc.boolean(),
    entries: fc.array(fc.record({ name: entryName, data: entryData }), { maxLength: 4 }),
    manifest: fc.option(manifest, { nil: undefined, freq: 4 }),
    yaml: fc.option(fc.array(fc.constantFrom(...YAML_FRAGMENTS), { maxLength: 8 }).map((p) => p.join('')), { nil: undefined }),
    extension: fc.constantFrom('.mar', '.tar.gz', '.zip', '.bin', ''),
    m: mutation,
  });

  it('opens or throws InvalidModelException / ModelNotFoundException, and leaves nothing behind (120 cases)', async () => {
    const trap = trapUnhandled();
    try {
      await fc.assert(
        fc.asyncProperty(archive, async (a) => {
          const { root, input } = await caseDir();
          const tempDir = path.join(root, 'tmp');
          await fs.mkdir(tempDir);
          const files = [...a.entries];
          if (a.manifest !== undefined) files.push({ name: 'MAR-INF/MANIFEST.json', data: Buffer.from(a.manifest) });
          if (a.yaml !== undefined) files.push({ name: 'model-config.yaml', data: Buffer.from(a.yaml) });
          files.push({ name: 'model.onnx', data: Buffer.from('weights') });
          const bytes = a.zip
            ? applyMutation(zipBytes(files.map((f) => ({ ...f, encrypted: false }))), a.m, zipSizeField)
            : gzipSync(applyMutation(tarBytes(files.map((f) => ({ ...f, type: '0', linkname: '', pax: Buffer.byteLength(f.name) > 100, badChecksum: false }))), a.m, (b, n, s) => tarSizeField(b, n, s)));
          const name = `a${a.extension}`;
          const file = path.join(input, name);
          await fs.writeFile(file, bytes);
          const r = await settlesOrThrows(() => openArchive(file, { tempDir }), [InvalidModelException, ModelNotFoundException], 'openArchive', 10_000);
          if (r.ok) {
            assert.ok(r.value.modelDir.startsWith(path.join(tempDir, EXTRACT_ROOT_NAME) + path.sep));
            await r.value.dispose();
          } else {
            assert.equal((r.error as InvalidModelException).status >= 400, true);
          }
          // Nothing left in the extraction root, nothing written anywhere else.
          assert.deepEqual(await fs.readdir(path.join(tempDir, EXTRACT_ROOT_NAME)).catch(() => []), []);
          for (const p of await tree(root)) {
            assert.ok(['in/', `in/${name}`, 'out/', 'tmp/', `tmp/${EXTRACT_ROOT_NAME}/`].includes(p), `left behind: ${p}`);
          }
          assert.ok(!existsSync(ABSOLUTE_TARGET));
          await fs.rm(root, { recursive: true, force: true });
        }),
        params(205, 120),
      );
      trap.check('openArchive');
    } finally {
      trap.dispose();
    }
  });
});
