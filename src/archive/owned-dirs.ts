/**
 * Per-server temporary directories (`${tempDir}/ortserve-models/…`, `${tempDir}/ortserve-work/…`) are named
 * `<hostname>-<pid>-<uuid>`, so that a server can tell which ones a dead server left behind. A server
 * removes them itself on unregister and on a clean stop; after `kill -9` or a power loss they stay, and the
 * next server on the same host removes those whose process is gone. The hostname keeps a server from
 * touching the live directories of a server in another container that shares the temporary directory.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const OWNED = /^(.+)-(\d+)-([0-9a-f]{32})$/;

/** A fresh directory name owned by this process. */
export function ownedDirName(): string {
  return `${os.hostname()}-${process.pid}-${randomUUID().replaceAll('-', '')}`;
}

/** Whether a process of this host is running (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the directories under `root` that a dead process of this host owned; returns their names. */
export async function sweepDeadOwners(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = OWNED.exec(name);
    if (!m || m[1] !== os.hostname()) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || isProcessAlive(pid)) continue;
    await fs.rm(path.join(root, name), { recursive: true, force: true, maxRetries: 2 });
    removed.push(name);
  }
  return removed;
}
