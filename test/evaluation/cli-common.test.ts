import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand } from '../../src/evaluation/cli-common.js';

describe('evaluate and predict options', () => {
  const options = { token: { type: 'string' }, url: { type: 'string' } } as const;

  it('takes a key that begins with a dash as the value of --token (1 key in 64 does)', () => {
    const parsed = parseCommand(['data.csv', '--token', '-Ab3_x9Q', '--url', 'http://127.0.0.1:8080'], options);
    assert.equal(parsed.values.token, '-Ab3_x9Q');
    assert.equal(parsed.values.url, 'http://127.0.0.1:8080');
    assert.deepEqual(parsed.positionals, ['data.csv']);
  });

  it('still refuses a dash value for other options', () => {
    assert.throws(() => parseCommand(['--url', '-x'], options), /ambiguous/);
  });
});
