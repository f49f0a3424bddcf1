/** Extracting a large .mar must not freeze the HTTP thread: adm-zip works synchronously, so it runs in a worker. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, describe, it } from 'node:test';
import AdmZip from 'adm-zip';
import { openArchive } from '../../src/archive/open-archive.js';
import { makeTempDir } from '../support/server.js';

describe('zip extraction off the event loop', () => {
  const dir = makeTempDir('ortserve-bigzip-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the event loop responsive while a 160 MB archive is extracted', async () => {
    const zip = new AdmZip();
    // Random bytes do not compress, so the archive really is 160 MB to read, check and write.
    zip.addFile('model.onnx', randomBytes(160 * 1024 * 1024));
    zip.addFile('MAR-INF/MANIFEST.json', Buffer.from('{"runtime":"python","model":{"modelName":"big","handler":"h.ts"}}'));
    const file = path.join(dir, 'big.mar');
    zip.writeZip(file);

    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const opened = await openArchive(file, { tempDir: dir });
    lag.disable();
    const maxMs = lag.max / 1e6;
    await opened.dispose();
    // On the HTTP thread this archive blocks the loop for over half a second (CRC and copy of 160 MB).
    assert.ok(maxMs < 200, `the event loop stalled for ${maxMs.toFixed(0)} ms`);
  });
});
