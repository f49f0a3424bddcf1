/**
 * Property tests of the configuration readers: config.properties (parseProperties / formatProperties),
 * the `models` JSON property and loadConfig over generated files. Each either returns a value or throws
 * ConfigError; nothing else escapes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { CONFIG_KEYS } from '../../src/config/defaults.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load-config.js';
import { parseModelsJson } from '../../src/config/models-json.js';
import { formatProperties, parseProperties } from '../../src/config/properties.js';
import { params, returnsOrThrows, stringOver } from './support.js';

/** The characters the properties grammar gives a meaning to. */
const PROPERTY_SPECIALS = ['\\', '\\u', '\\u00', 'u', '=', ':', ' ', '\t', '\f', '\n', '\r', '\r\n', '#', '!', 'a', 'F', '0', '9', 'é', '😀', '\uD800'];

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function isMapOfStrings(m: unknown): boolean {
  return m instanceof Map && [...m].every(([k, v]) => typeof k === 'string' && typeof v === 'string');
}

describe('fuzz: config.properties', () => {
  it('parseProperties returns a map of strings or throws ConfigError, for any text (3000 cases)', () => {
    fc.assert(
      fc.property(fc.oneof(stringOver(PROPERTY_SPECIALS, 120), fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
        const result = returnsOrThrows(() => parseProperties(text), [ConfigError], 'parseProperties');
        if (result !== undefined) assert.ok(isMapOfStrings(result));
      }),
      params(1, 3000),
    );
  });

  it('only a malformed \\uXXXX escape is an error', () => {
    fc.assert(
      fc.property(stringOver(PROPERTY_SPECIALS.filter((c) => c !== '\\u' && c !== 'u'), 80), (text) => {
        // Without "u" after a backslash there is no \u escape, so no text can fail.
        fc.pre(!/\\u/.test(text));
        assert.ok(isMapOfStrings(parseProperties(text)));
      }),
      params(2, 1000),
    );
  });

  it('formatProperties writes ASCII that parseProperties reads back to the same entries (2000 cases)', () => {
    const text = fc.oneof(stringOver(PROPERTY_SPECIALS, 30), fc.string({ unit: 'binary', maxLength: 30 }));
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(text, text), { selector: ([k]) => k, maxLength: 8 }), fc.array(text, { maxLength: 3 }), (entries, comments) => {
        const written = formatProperties(entries, comments);
        // eslint-disable-next-line no-control-regex
        assert.match(written, /^[\x00-\x7f]*$/);
        assert.deepEqual([...parseProperties(written)], entries);
      }),
      params(3, 2000),
    );
  });

  it('parse ∘ format ∘ parse is parse (re-writing a parsed file changes nothing)', () => {
    fc.assert(
      fc.property(stringOver(PROPERTY_SPECIALS, 100), (text) => {
        const first = returnsOrThrows(() => parseProperties(text), [ConfigError], 'parseProperties');
        if (first === undefined) return;
        assert.deepEqual(parseProperties(formatProperties(first, [])), first);
      }),
      params(4, 1000),
    );
  });
});

/** JSON values biased towards what the models property holds: numbers of every kind, numeric strings, nulls. */
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 1e308, -0, 0.5, 1.9999),
  fc.constantFrom('4', ' 4 ', '+4', '-4', '4.0', '99999999999999999999', '', 'true', 'FALSE', 'yes', null, true, false),
  fc.string({ maxLength: 8 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const MODEL_FIELDS = ['minWorkers', 'maxWorkers', 'batchSize', 'maxBatchDelay', 'responseTimeout', 'startupTimeout', 'parallelLevel', 'marName', 'runtimeType', 'defaultVersion', 'other', '__proto__', 'constructor', 'toString'];

const modelsDoc: fc.Arbitrary<unknown> = fc.dictionary(
  fc.oneof(fc.constantFrom('m', 'noop', '__proto__', 'constructor', ''), fc.string({ maxLength: 6 })),
  fc.oneof(
    { weight: 4, arbitrary: fc.dictionary(fc.constantFrom('1.0', '2.0', '__proto__', ''), fc.dictionary(fc.constantFrom(...MODEL_FIELDS), jsonish, { maxKeys: 6 }), { maxKeys: 3 }) },
    { weight: 1, arbitrary: jsonish },
  ),
  { maxKeys: 3 },
);

const INT_FIELDS = new Set(MODEL_FIELDS.slice(0, 7));

describe('fuzz: the models property', () => {
  it('parseModelsJson returns entries of positive Java ints, strings and booleans, or throws ConfigError (3000 cases)', () => {
    const text = fc.oneof(
      { weight: 3, arbitrary: modelsDoc.map((d) => JSON.stringify(d)) },
      { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
      { weight: 1, arbitrary: stringOver(['{', '}', '[', ']', '"', ':', ',', '1', 'e', '-', 'null', ' '], 40) },
    );
    fc.assert(
      fc.property(text, (t) => {
        const warnings: string[] = [];
        const result = returnsOrThrows(() => parseModelsJson(t, warnings), [ConfigError], 'parseModelsJson');
        assert.ok(warnings.every((w) => typeof w === 'string'));
        if (result === undefined) return;
        // Every model and version of the document is kept, "__proto__" included.
        const doc = JSON.parse(t) as Record<string, Record<string, unknown>>;
        assert.deepEqual(Object.keys(result), Object.keys(doc));
        for (const [model, versions] of Object.entries(result)) assert.deepEqual(Object.keys(versions), Object.keys(doc[model]!));
        for (const versions of Object.values(result)) {
          for (const entry of Object.values(versions)) {
            for (const [field, value] of Object.entries(entry)) {
              if (INT_FIELDS.has(field)) {
                assert.ok(Number.isInteger(value) && (value as number) > 0 && (value as number) <= INT32_MAX, `${field}=${String(value)}`);
              } else if (field === 'defaultVersion') assert.equal(typeof value, 'boolean');
              else assert.equal(typeof value, 'string', field);
            }
          }
        }
      }),
      params(5, 3000),
    );
  });
});

describe('fuzz: loadConfig over generated config.properties files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ortserve-fuzz-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const keys = Object.keys(CONFIG_KEYS).filter((k) => !/metrics_config|certificate|private_key/.test(k));
  const value = fc.oneof(
    fc.constantFrom('true', 'false', 'TRUE', ' 1', '0', '-1', '100', '2147483648', '99999999999999999999', '1e3', '0x10', ''),
    fc.constantFrom('http://127.0.0.1:8080', 'https://[::1]:0', 'http://0.0.0.0:99999', 'unix:/tmp/x', 'http://host', '127.0.0.1:8080'),
    fc.constantFrom('(?i)file://.*', '[', 'a(b', '*', 'file://.*,http://.*', '$$UNDEFINED_VAR$$', '$$FUZZ_VAR$$', '$$A$$'),
    fc.constantFrom('{"m":{"1.0":{"minWorkers":1}}}', '{', '[]', '{"m":1}', 'log', 'prometheus', 'legacy', 'json', 'adaptive', 'torchserve'),
    fc.integer({ min: INT32_MIN, max: INT32_MAX }).map(String),
    stringOver(['$', '$$', '\\', '{', '"', ':', ',', '*', '(', 'true', '1'], 20),
  );
  const file = fc.array(fc.tuple(fc.constantFrom(...keys), value), { maxLength: 12 });

  it('returns a ServerConfig or throws ConfigError (400 cases)', () => {
    let n = 0;
    fc.assert(
      fc.property(file, fc.boolean(), (entries, withVar) => {
        const path = join(dir, `config-${n++}.properties`);
        writeFileSync(path, formatProperties(entries, ['generated']).replace(/\\\$/g, '$'));
        const env: Record<string, string> = { LOG_LOCATION: join(dir, 'logs'), TEMP: dir };
        if (withVar) env['FUZZ_VAR'] = 'substituted';
        const config = returnsOrThrows(() => loadConfig({ tsConfig: path }, env, dir), [ConfigError], 'loadConfig');
        if (config === undefined) return;
        for (const k of ['maxRequestSize', 'jobQueueSize', 'defaultWorkersPerModel'] as const) {
          assert.ok(Number.isInteger(config[k]) && config[k] >= INT32_MIN && config[k] <= INT32_MAX, k);
        }
        assert.ok(Array.isArray(config.warnings));
      }),
      params(6, 400),
    );
  });
});
