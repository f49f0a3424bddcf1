import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ownedDirName, sweepDeadOwners } from '../../src/archive/owned-dirs.js';

const UUID = 'a'.repeat(32);

/** The pid of a process that has exited (and so is not running now). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('owned temporary directories', () => {
  it('names a directory <hostname>-<pid>-<uuid>, a new uuid each time', () => {
    const a = ownedDirName();
    assert.match(a, new RegExp(`^${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-${process.pid}-[0-9a-f]{32}$`));
    assert.notEqual(a, ownedDirName());
  });

  it("removes only the directories of this host's dead processes", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'owned-dirs-'));
    try {
      const host = os.hostname();
      const dead = `${host}-${deadPid()}-${UUID}`;
      const mine = `${host}-${process.pid}-${UUID}`;
      const parent = `${host}-${process.ppid}-${UUID}`;
      const otherHost = `not-${host}-${deadPid()}-${UUID}`;
      const foreign = 'somebody-elses-dir';
      for (const d of [dead, mine, parent, otherHost, foreign]) {
        mkdirSync(path.join(root, d));
        writeFileSync(path.join(root, d, 'model.onnx'), 'x');
      }
      assert.deepEqual(await sweepDeadOwners(root), [dead]);
      assert.deepEqual(readdirSync(root).sort(), [mine, parent, otherHost, foreign].sort());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('does nothing when the root does not exist', async () => {
    assert.deepEqual(await sweepDeadOwners(path.join(os.tmpdir(), `missing-${process.pid}-${Date.now()}`)), []);
  });
});
