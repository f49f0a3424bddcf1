/** Bounded concurrency, and where the inference key comes from. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { mapConcurrent } from '../../src/client/pool.js';
import { KeyFileError, resolveInferenceToken } from '../../src/client/token.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapConcurrent', () => {
  it('keeps the input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapConcurrent([30, 5, 20, 1, 10, 2, 8], 3, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(ms);
      running--;
      return `${i}:${ms}`;
    });
    assert.deepEqual(out, ['0:30', '1:5', '2:20', '3:1', '4:10', '5:2', '6:8']);
    assert.equal(peak, 3);
  });

  it('stops taking items after a failure, lets started ones finish, and throws the first error', async () => {
    const started: number[] = [];
    let finished = 0;
    await assert.rejects(
      mapConcurrent([0, 1, 2, 3, 4, 5], 2, async (i) => {
        started.push(i);
        await sleep(i === 0 ? 5 : 20);
        finished++;
        if (i === 0) throw new Error('boom 0');
        return i;
      }),
      /boom 0/,
    );
    assert.deepEqual(started, [0, 1]);
    assert.equal(finished, 2);
    await assert.rejects(mapConcurrent([1], 0, async (x) => x), RangeError);
  });
});

describe('resolveInferenceToken', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-token-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = (where: string, key: unknown): void =>
    writeFileSync(path.join(where, 'key_file.json'), JSON.stringify({ management: { key: 'm' }, inference: { key }, API: { key: 'a' } }));

  it('prefers --token, then --key-file, then ./key_file.json, else none', () => {
    const other = mkdtempSync(path.join(dir, 'other-'));
    keyFile(other, 'from-other');
    assert.equal(resolveInferenceToken({ cwd: dir }), null);
    keyFile(dir, 'from-cwd');
    assert.equal(resolveInferenceToken({ cwd: dir }), 'from-cwd');
    assert.equal(resolveInferenceToken({ cwd: dir, keyFile: path.join(other, 'key_file.json') }), 'from-other');
    assert.equal(resolveInferenceToken({ cwd: dir, keyFile: path.relative(dir, path.join(other, 'key_file.json')) }), 'from-other');
    assert.equal(resolveInferenceToken({ cwd: dir, token: 'given', keyFile: 'missing.json' }), 'given');
  });

  it('reports a missing or malformed key file', () => {
    assert.throws(() => resolveInferenceToken({ cwd: dir, keyFile: 'missing.json' }), (e: unknown) => e instanceof KeyFileError && /cannot read/.test(e.message));
    const bad = mkdtempSync(path.join(dir, 'bad-'));
    keyFile(bad, 42);
    assert.throws(() => resolveInferenceToken({ cwd: bad }), /no "inference": \{"key": …\} entry/);
  });
});
