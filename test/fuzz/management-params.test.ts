/**
 * Property tests of the management API's parameter readers (register and scale): generated query
 * strings and JSON bodies give well-typed parameters or BadRequestException, never anything else.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BadRequestException } from '../../src/errors.js';
import type { Exchange } from '../../src/http/exchange.js';
import { IndexOutOfBoundsException } from '../../src/errors.js';
import { parseBoolean, parseInteger, registerParams, scaleParams, type ParamRequest } from '../../src/http/management-params.js';
import { checkRegisterParams, checkScale } from '../../src/registry/settings.js';
import { params, returnsOrThrows, stringOver } from './support.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function exchange(query: string, contentType: string | undefined, body: Buffer): Exchange & ParamRequest {
  const req = { headers: contentType === undefined ? {} : { 'content-type': contentType }, rawHeaders: [] } as unknown as IncomingMessage;
  return {
    req,
    res: {} as ServerResponse,
    requestId: 'fuzz',
    method: 'POST',
    segments: ['', 'models'],
    query: new URLSearchParams(query),
    body,
    readBody: () => Promise.resolve(body),
  };
}

const intText = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('', ' ', '-1', '-100', '+5', ' 7 ', '2147483647', '2147483648', '-2147483649', '99999999999', '00000000001', '1.5', '1e3', '0x10', '١٢', 'NaN', 'Infinity'),
  stringOver(['1', '0', '-', '+', ' ', '\t', '9', 'e', '.'], 12),
);

describe('fuzz: integer and boolean parameters', () => {
  it('parseInteger gives a Java int equal to the text, or undefined (3000 cases)', () => {
    fc.assert(
      fc.property(fc.option(intText, { nil: undefined }), (v) => {
        const n = parseInteger(v);
        if (n === undefined) return;
        assert.ok(Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX, String(n));
        assert.equal(n, Number(v!.trim()));
      }),
      params(401, 3000),
    );
  });

  it('parseBoolean is true exactly for "true" in any case (1000 cases)', () => {
    fc.assert(
      fc.property(fc.option(fc.oneof(fc.constantFrom('true', 'TRUE', 'True', ' true', 'false', 'yes', '1'), fc.string({ maxLength: 6 })), { nil: undefined }), fc.boolean(), (v, fallback) => {
        assert.equal(parseBoolean(v, fallback), v === undefined ? fallback : v.toLowerCase() === 'true');
      }),
      params(402, 1000),
    );
  });
});

const REGISTER_KEYS = ['url', 'model_name', 'handler', 'runtime', 'batch_size', 'max_batch_delay', 'initial_workers', 'synchronous', 'response_timeout', 'startup_timeout', 'min_worker', 'max_worker', 'model_version', 'other'];

const queryValue = fc.oneof(intText, fc.constantFrom('probe.mar', 'http://x/y.mar', 'true', 'false', '%', '%zz', '&', '=', '+'), fc.string({ maxLength: 10 }));
/** Query strings: generated key=value pairs (encoded or raw) and raw garbage. */
const queryString = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.tuple(fc.constantFrom(...REGISTER_KEYS), queryValue), { maxLength: 8 }).map((pairs) => new URLSearchParams(pairs).toString()) },
  { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom(...REGISTER_KEYS), queryValue), { maxLength: 6 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')) },
  { weight: 1, arbitrary: stringOver(['&', '=', '%', '%2', 'url', '?', '#', '+', ';'], 30) },
);

/** JSON values, including objects that String() cannot convert (their toString is not a function). */
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, 0, -1, 1.5, 1e21, 'probe.mar', '', [], ['a', 'b'], {}),
  fc.constantFrom({ toString: 1 }, { toString: null, valueOf: 'x' }, { valueOf: {} }),
);
const jsonBody = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...REGISTER_KEYS, '__proto__'), jsonValue, { maxKeys: 8 }).map((d) => JSON.stringify(d)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
  { weight: 1, arbitrary: stringOver(['{', '}', '"url"', ':', ',', '"', 'null', '[', ']'], 20) },
);

function isCount(n: unknown): boolean {
  return n === undefined || (Number.isInteger(n) && (n as number) >= 0 && (n as number) <= INT32_MAX);
}

describe('fuzz: register parameters', () => {
  it('registerParams reads the query or a JSON body into typed parameters, or throws BadRequestException (3000 cases)', () => {
    const contentType = fc.constantFrom(undefined, 'application/json', 'Application/JSON; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '');
    fc.assert(
      fc.property(queryString, contentType, jsonBody, (q, ct, body) => {
        const p = returnsOrThrows(() => registerParams(exchange(q, ct, Buffer.from(body))), [BadRequestException], 'registerParams');
        if (p === undefined) return;
        // A url is always given; it may be empty ("url="), which TorchServe looks up in the model store (404).
        assert.ok(typeof p.url === 'string');
        for (const k of ['modelName', 'handler', 'runtime'] as const) assert.ok(p[k] === undefined || (typeof p[k] === 'string' && p[k] !== ''), k);
        for (const k of ['batchSize', 'maxBatchDelay', 'initialWorkers', 'responseTimeout', 'startupTimeout'] as const) assert.ok(isCount(p[k]), `${k}=${String(p[k])}`);
        assert.equal(typeof p.synchronous, 'boolean');
      }),
      params(403, 3000),
    );
  });

  it('a query value round-trips: url and model_name come back as sent (1000 cases)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ minLength: 1, maxLength: 12 }), (url, name) => {
        const p = registerParams(exchange(new URLSearchParams({ url, model_name: name }).toString(), undefined, Buffer.alloc(0)));
        assert.equal(p.url, url);
        assert.equal(p.modelName, name);
      }),
      params(404, 1000),
    );
  });
});

describe('fuzz: scale parameters', () => {
  it('scaleParams gives Java ints, a boolean and a version (3000 cases)', () => {
    fc.assert(
      fc.property(queryString, fc.option(fc.string({ maxLength: 6 }), { nil: null }), (q, version) => {
        const p = returnsOrThrows(() => scaleParams(exchange(q, undefined, Buffer.alloc(0)), version), [BadRequestException], 'scaleParams');
        if (p === undefined) return;
        for (const n of [p.min, p.max]) assert.ok(Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX, String(n));
        assert.equal(typeof p.synchronous, 'boolean');
        assert.ok(p.version === null || typeof p.version === 'string');
        if (version !== null) assert.equal(p.version, version);
      }),
      params(405, 3000),
    );
  });
});

describe('fuzz: limits (issue 13)', () => {
  const caps = { maxWorkersPerModel: 8, maxBatchSize: 64 };
  /** 2^31 - 1 ms in whole seconds: the longest timeout a Node timer holds. */
  const TIMER_SEC = 2147483;

  it('register parameters the registry accepts are within the caps and the timer limit (3000 cases)', () => {
    fc.assert(
      fc.property(queryString, (q) => {
        const p = returnsOrThrows(() => registerParams(exchange(q, undefined, Buffer.alloc(0))), [BadRequestException], 'registerParams');
        if (p === undefined || returnsOrThrows(() => (checkRegisterParams(p, caps), true), [BadRequestException], 'checkRegisterParams') !== true) return;
        const within = (n: number | undefined, lo: number, hi: number): boolean => n === undefined || (n >= lo && n <= hi);
        assert.ok(within(p.initialWorkers, 0, 8), `initial_workers=${p.initialWorkers}`);
        assert.ok(within(p.batchSize, 1, 64), `batch_size=${p.batchSize}`);
        assert.ok(within(p.maxBatchDelay, 0, 2 ** 31 - 1), `max_batch_delay=${p.maxBatchDelay}`);
        assert.ok(within(p.responseTimeout, 0, TIMER_SEC) && within(p.startupTimeout, 0, TIMER_SEC), q);
      }),
      params(406, 3000),
    );
  });

  it('scale requests the registry accepts have 0 <= min_worker <= max_worker <= the cap (3000 cases)', () => {
    fc.assert(
      fc.property(queryString, (q) => {
        const p = returnsOrThrows(() => scaleParams(exchange(q, undefined, Buffer.alloc(0)), null), [BadRequestException], 'scaleParams');
        if (p === undefined || p.max < p.min) return; // the manager's own 400, before the model is looked up
        if (returnsOrThrows(() => (checkScale(p.min, p.max, caps), true), [BadRequestException, IndexOutOfBoundsException], 'checkScale') !== true) return;
        assert.ok(p.min >= 0 && p.min <= p.max && p.max <= 8, `${p.min}..${p.max}`);
      }),
      params(407, 3000),
    );
  });
});
