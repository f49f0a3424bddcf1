/**
 * Models loaded when the server starts: first those of the latest snapshot (with their default
 * versions and worker counts), then the `load_models` / `--models` entries that the snapshot does not
 * already account for. A model that fails to load is reported and skipped; it never stops the others.
 *
 * TorchServe ignores `load_models` whenever it restores a snapshot. ortserve loads the entries that
 * are new since the snapshot was written (the snapshot records the `load_models` of its run), so a
 * model added to the command line is loaded, while a model that came from `--models` and was later
 * unregistered stays unregistered when the server restarts with the same command line. `all` keeps
 * its meaning, every archive in the model store: archives added to the store since are loaded too.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { splitLoadModels } from '../snapshot/restore-source.js';
import type { ModelSnapshot, SnapshotVersion } from '../snapshot/snapshot-manager.js';
import { limitProblem, type LimitCaps } from '../config/limits.js';
import type { ModelManager } from './model-manager.js';
import { MODEL_STATE_LIMITS } from './settings.js';

const ARCHIVE_FILE = /\.(mar|model|tar\.gz|tgz)$/;

export type StartupLog = (message: string) => void;

export interface StartupEntry {
  name?: string;
  url: string;
  /** The `load_models` entry it came from, as written (`all`, `name=url`, `url`). */
  source: string;
}

/** `all` → every archive file and directory in the model store; otherwise `[name=]url` entries. */
export function expandLoadModels(entries: string[], modelStore: string | null): StartupEntry[] {
  const out: StartupEntry[] = [];
  for (const entry of splitLoadModels(entries)) {
    if (entry.toLowerCase() === 'all') {
      if (!modelStore) continue;
      for (const f of readdirSync(modelStore).sort()) {
        if (f.startsWith('.')) continue;
        const full = path.join(modelStore, f);
        if (ARCHIVE_FILE.test(f) || statSync(full).isDirectory()) out.push({ url: f, source: entry });
      }
      continue;
    }
    const eq = entry.indexOf('=');
    out.push(eq > 0 ? { name: entry.slice(0, eq), url: entry.slice(eq + 1), source: entry } : { url: entry, source: entry });
  }
  return out;
}

/**
 * A version entry with sane values, or why it cannot be restored. A missing number takes TorchServe's
 * default; a number that is present but not an integer, or out of its limits (src/config/limits.ts), is
 * refused: a hand-edited or corrupted snapshot must not start a billion workers or overflow a timer.
 */
function normalise(v: Partial<SnapshotVersion> | null | undefined, caps: LimitCaps): SnapshotVersion | string {
  if (!v || typeof v !== 'object' || typeof v.marName !== 'string' || v.marName === '') return 'it has no marName';
  for (const [key, limit] of MODEL_STATE_LIMITS) {
    const value = (v as Record<string, unknown>)[key];
    const problem = value === undefined || value === null ? null : limitProblem(limit, key, value, caps);
    if (problem !== null) return problem;
  }
  const int = (n: number | undefined, fallback: number): number => (typeof n === 'number' ? n : fallback);
  const minWorkers = int(v.minWorkers, 1);
  return {
    defaultVersion: v.defaultVersion === true,
    marName: v.marName,
    minWorkers,
    maxWorkers: Math.max(minWorkers, int(v.maxWorkers, minWorkers)),
    batchSize: int(v.batchSize, 1),
    maxBatchDelay: int(v.maxBatchDelay, 100),
    responseTimeout: int(v.responseTimeout, 120),
    startupTimeout: int(v.startupTimeout, 120),
    runtimeType: typeof v.runtimeType === 'string' ? v.runtimeType : 'python',
  };
}

/** A marName that names a file or directory of the model store (not a URL) but is not there. */
function missingFromStore(marName: string, modelStore: string | null): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(marName) || path.isAbsolute(marName)) return false;
  return modelStore !== null && !existsSync(path.join(modelStore, marName));
}

/**
 * Registers every version of the snapshot, scales it to its saved workers and restores the default
 * versions. TorchServe refuses to start when an archive is missing; ortserve logs it and skips that
 * version.
 */
export async function restoreSnapshot(manager: ModelManager, snapshot: ModelSnapshot, log: StartupLog): Promise<void> {
  for (const [name, versions] of Object.entries(snapshot.models)) {
    if (typeof versions !== 'object' || versions === null) continue;
    for (const [version, raw] of Object.entries(versions)) {
      const v = normalise(raw, manager.config);
      if (typeof v === 'string') {
        log(`Skipping model ${name} version ${version} of the snapshot: ${v}`);
        continue;
      }
      if (missingFromStore(v.marName, manager.config.modelStore)) {
        log(`Model archive file for model :${name}, version :${version} not found in model store; skipping it`);
        continue;
      }
      const before = new Set(manager.registry.has(name) ? manager.registry.versions(name) : []);
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
      } catch (err) {
        log(`Failed to restore model ${name} version ${version} from the snapshot: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      const added = (manager.registry.has(name) ? manager.registry.versions(name) : []).find((mv) => !before.has(mv));
      if (added && added.version !== version) {
        // The archive in the store now holds another version than the snapshot recorded.
        manager.registry.forget(added);
        await added.dispose();
        log(`Failed to restore model ${name} version ${version} from the snapshot: ${v.marName} now holds version ${added.version}`);
        continue;
      }
      if (v.defaultVersion) manager.registry.setDefault(name, version);
      try {
        await manager.registry.get(name, version).scale(v.minWorkers, v.maxWorkers, true);
        log(`Restored model ${name} version ${version} with ${v.minWorkers} workers`);
      } catch (err) {
        log(`Model ${name} version ${version} restored, but its workers failed to start: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/** Loads each entry unless already registered, or (for named entries) accounted for by the restored snapshot. */
export async function loadStartupModels(
  manager: ModelManager,
  entries: StartupEntry[],
  accountedFor: ReadonlySet<string>,
  log: StartupLog,
): Promise<void> {
  for (const e of entries) {
    if (e.source.toLowerCase() !== 'all' && accountedFor.has(e.source)) continue;
    const registered = manager.registry.all();
    if (registered.some((v) => v.url === e.url || (e.name !== undefined && v.name === e.name))) continue;
    try {
      const r = await manager.register({ url: e.url, modelName: e.name, synchronous: true, loadedAtStartup: true });
      log(r.message);
    } catch (err) {
      log(`Failed to load model ${e.name ?? e.url}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
