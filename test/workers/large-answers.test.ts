/**
 * Large answers go from the worker thread to the HTTP thread by transfer (src/workers/codec.ts,
 * issue 16), not by copy. A transfer empties the sender's buffer, so the server must never transfer
 * bytes the handler still holds: a handler that returns the same cached bytes (a Uint8Array or an
 * ArrayBuffer) on every call gets them through intact each time, and large encoded answers (a long
 * string, a large JSON value) arrive whole. Handler: test/fixtures/handlers/probe.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TRANSFER_MIN_BYTES } from '../../src/workers/codec.js';
import { writeProbeMar } from '../support/archives.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** What the probe's kept answers hold: byte i is i % 251. */
function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = i % 251;
  return b;
}

describe('large answers from the worker thread', { timeout: 60_000 }, () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
    writeProbeMar(s.modelStore, { name: 'big' });
    const res = await fetch(`${s.managementUrl}/models?url=big.mar&initial_workers=1&batch_size=4&max_batch_delay=50&synchronous=true`, {
      method: 'POST',
      headers: s.auth('management'),
    });
    assert.equal(res.status, 200, await res.text());
  });
  after(() => s.stop());

  const predict = async (body: unknown): Promise<Buffer> => {
    const res = await fetch(`${s.inferenceUrl}/predictions/big`, {
      method: 'POST',
      headers: { ...s.auth('inference'), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  };

  for (const action of ['keptBytes', 'keptArrayBuffer'] as const) {
    it(`a ${action === 'keptBytes' ? 'Uint8Array' : 'ArrayBuffer'} the handler keeps is answered whole on every call`, async () => {
      for (const size of [100, TRANSFER_MIN_BYTES, 3 * TRANSFER_MIN_BYTES + 7]) {
        const want = pattern(size);
        // Several calls, some in one batch: each must find the handler's bytes as they were.
        for (let round = 0; round < 3; round++) {
          const answers = await Promise.all([1, 2, 3].map(() => predict({ action, size })));
          for (const got of answers) assert.ok(got.equals(want), `${action} size ${size} round ${round}: ${got.length} bytes`);
        }
      }
    });
  }

  it('a large JSON answer arrives whole', async () => {
    const value = { text: 'ü'.repeat(TRANSFER_MIN_BYTES), list: Array.from({ length: 2000 }, (_, i) => i) };
    const got = (await predict(value)).toString('utf8');
    // Python's json.dumps(indent=2) layout with non-ASCII escaped, computed here independently.
    const want = JSON.stringify(value, null, 2).replace(/ü/g, '\\u00fc');
    assert.equal(got.length, want.length);
    assert.equal(got, want);
  });
});
