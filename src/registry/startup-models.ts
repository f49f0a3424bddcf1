/**
 * Models loaded when the server starts: first those of the latest snapshot (with their default
 * versions and worker counts), then `load_models` / `--models` entries that the snapshot did not
 * already bring back. A model that fails to load is reported and skipped; it never stops the others.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ModelSnapshot } from '../snapshot/snapshot-manager.js';
import type { ModelManager } from './model-manager.js';

const ARCHIVE_FILE = /\.(mar|model|tar\.gz|tgz)$/;

export type StartupLog = (message: string) => void;

/** `all` → every archive file and directory in the model store; otherwise `[name=]url` entries. */
export function expandLoadModels(entries: string[], modelStore: string | null): Array<{ name?: string; url: string }> {
  const out: Array<{ name?: string; url: string }> = [];
  for (const entry of entries.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean)) {
    if (entry === 'all') {
      if (!modelStore) continue;
      for (const f of readdirSync(modelStore).sort()) {
        if (f.startsWith('.')) continue;
        const full = path.join(modelStore, f);
        if (ARCHIVE_FILE.test(f) || statSync(full).isDirectory()) out.push({ url: f });
      }
      continue;
    }
    const eq = entry.indexOf('=');
    out.push(eq > 0 ? { name: entry.slice(0, eq), url: entry.slice(eq + 1) } : { url: entry });
  }
  return out;
}

export async function restoreSnapshot(manager: ModelManager, snapshot: ModelSnapshot, log: StartupLog): Promise<void> {
  for (const [name, versions] of Object.entries(snapshot.models)) {
    for (const [version, v] of Object.entries(versions)) {
      try {
        await manager.register({
          url: v.marName,
          modelName: name,
          batchSize: v.batchSize,
          maxBatchDelay: v.maxBatchDelay,
          responseTimeout: v.responseTimeout,
          startupTimeout: v.startupTimeout,
          runtime: v.runtimeType,
          initialWorkers: 0,
          synchronous: true,
          loadedAtStartup: true,
        });
        const mv = manager.registry.get(name, version);
        await mv.scale(v.minWorkers, v.maxWorkers, true);
        if (v.defaultVersion) manager.registry.setDefault(name, version);
        log(`Restored model ${name} version ${version} with ${v.minWorkers} workers`);
      } catch (err) {
        log(`Failed to restore model ${name} version ${version} from the snapshot: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

export async function loadStartupModels(
  manager: ModelManager,
  entries: Array<{ name?: string; url: string }>,
  log: StartupLog,
): Promise<void> {
  const registered = manager.registry.all();
  for (const e of entries) {
    if (registered.some((v) => v.url === e.url || (e.name !== undefined && v.name === e.name))) continue;
    try {
      const r = await manager.register({ url: e.url, modelName: e.name, synchronous: true, loadedAtStartup: true });
      log(r.message);
    } catch (err) {
      log(`Failed to load model ${e.name ?? e.url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
