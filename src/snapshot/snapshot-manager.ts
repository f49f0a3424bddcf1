/**
 * Config snapshots (spec §5.1): after every change to the set of models, their default versions or
 * worker counts, the whole configuration plus `model_snapshot` is written to
 * `$LOG_LOCATION/config/<timestamp>-<kind>.cfg`. Files are written to a temporary name, flushed and
 * renamed, so a crash (even `kill -9`) mid-write leaves the previous snapshot intact and never a
 * partial one.
 *
 * Unlike TorchServe, the timestamps of one directory's snapshots strictly increase: two snapshots in
 * the same millisecond (or after the clock went back) would otherwise tie or sort wrongly, and the
 * restore, which takes the newest name, could pick a stale one. Only the newest KEEP_SNAPSHOTS files
 * are kept.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isProcessAlive } from '../archive/owned-dirs.js';
import { formatSnapshotFile, snapshotFileName, type SnapshotKind } from '../config/snapshot-file.js';
import type { ServerConfig } from '../config/types.js';
import type { ModelManager } from '../registry/model-manager.js';
import { isWorkflowNode } from '../workflows/node-names.js';

/** How many snapshot files to keep; TorchServe keeps every one, which grows without bound. */
export const KEEP_SNAPSHOTS = 20;

const SNAPSHOT_FILE = /^(\d{17})-(startup|snapshot|shutdown)\.cfg$/;
const TEMP_FILE = /^\..*\.(\d+)\.tmp$/;

/** One version in `model_snapshot`, with the keys of TorchServe's `Model.getModelState`. */
export interface SnapshotVersion {
  defaultVersion: boolean;
  marName: string;
  minWorkers: number;
  maxWorkers: number;
  batchSize: number;
  maxBatchDelay: number;
  responseTimeout: number;
  startupTimeout: number;
  runtimeType: string;
}

/** TorchServe's `Snapshot` as Gson writes it: name, modelCount (number of versions), created, models. */
export interface ModelSnapshot {
  name: string;
  modelCount: number;
  created: number;
  models: Record<string, Record<string, SnapshotVersion>>;
}

/** The Date a `yyyyMMddHHmmssSSS` prefix stands for (local time), or null. */
function stampTime(stamp: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})$/.exec(stamp);
  if (!m) return null;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  const t = new Date(y, mo - 1, d, h, mi, s, ms).getTime();
  return Number.isNaN(t) ? null : t;
}


export class SnapshotManager {
  readonly dir: string;
  /** Time of the newest snapshot name written or found, so the next name sorts after it. */
  private lastTime: number | null = null;

  constructor(
    private readonly config: ServerConfig,
    private readonly manager: ModelManager,
    private readonly log: (message: string) => void = (m) => console.error(m),
  ) {
    this.dir = path.join(config.logLocation, 'config');
  }

  /** The registry as TorchServe's `model_snapshot` JSON. */
  current(fileName: string, now: Date): ModelSnapshot {
    const registry = this.manager.registry;
    const models: ModelSnapshot['models'] = {};
    let count = 0;
    for (const name of registry.names()) {
      // Workflow nodes are not snapshotted (TorchServe's SnapshotManager skips workflow models).
      if (isWorkflowNode(this.manager, name)) continue;
      const def = registry.defaultVersion(name);
      models[name] = {};
      for (const v of registry.versions(name)) {
        count++;
        const s = v.settings;
        models[name][v.version] = {
          defaultVersion: v.version === def,
          marName: v.url,
          minWorkers: s.minWorkers,
          maxWorkers: s.maxWorkers,
          batchSize: s.batchSize,
          maxBatchDelay: s.maxBatchDelay,
          responseTimeout: s.responseTimeout,
          startupTimeout: s.startupTimeout,
          runtimeType: v.runtime,
        };
      }
    }
    return { name: fileName, modelCount: count, created: now.getTime(), models };
  }

  /**
   * Writes a snapshot of the current registry; returns its path, or null when snapshots are disabled or
   * the write failed (logged: a snapshot problem must not fail the API call that caused it).
   */
  save(kind: SnapshotKind): string | null {
    if (!this.config.snapshotsEnabled) return null;
    try {
      mkdirSync(this.dir, { recursive: true });
      const now = this.nextTime();
      const name = snapshotFileName(now, kind);
      const properties = { ...this.config.properties };
      delete properties.model_snapshot;
      const text = formatSnapshotFile(properties, JSON.stringify(this.current(name, now)), now);
      const target = path.join(this.dir, name);
      const tmp = path.join(this.dir, `.${name}.${process.pid}.tmp`);
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      // Pruning first means that even a crash right after the rename leaves at most KEEP_SNAPSHOTS files.
      this.prune(KEEP_SNAPSHOTS - 1);
      renameSync(tmp, target);
      return target;
    } catch (err) {
      this.log(`Could not write a config snapshot (${kind}) in ${this.dir}: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  }

  /** Now, or 1 ms after the newest snapshot of the directory when that is not earlier than now. */
  private nextTime(): Date {
    if (this.lastTime === null) {
      for (const f of readdirSync(this.dir)) {
        const m = SNAPSHOT_FILE.exec(f);
        const t = m ? stampTime(m[1]!) : null;
        if (t !== null && (this.lastTime === null || t > this.lastTime)) this.lastTime = t;
      }
    }
    let t = Date.now();
    if (this.lastTime !== null && t <= this.lastTime) t = this.lastTime + 1;
    this.lastTime = t;
    return new Date(t);
  }

  /** Keeps the newest `keep` snapshots; removes temporary files of crashed writers. */
  private prune(keep: number): void {
    const names = readdirSync(this.dir);
    const snapshots = names.filter((f) => SNAPSHOT_FILE.test(f)).sort();
    for (const f of snapshots.slice(0, Math.max(0, snapshots.length - keep))) {
      rmSync(path.join(this.dir, f), { force: true });
    }
    for (const f of names) {
      const m = TEMP_FILE.exec(f);
      if (m && Number(m[1]) !== process.pid && !isProcessAlive(Number(m[1]))) rmSync(path.join(this.dir, f), { force: true });
    }
  }
}

/** Parses `model_snapshot`; null when it is missing or not the expected shape. */
export function parseModelSnapshot(json: string | null): ModelSnapshot | null {
  if (!json) return null;
  try {
    const parsed = JSON.parse(json) as Partial<ModelSnapshot>;
    if (typeof parsed !== 'object' || parsed === null) return null;
    if (typeof parsed.models !== 'object' || parsed.models === null || Array.isArray(parsed.models)) return null;
    return parsed as ModelSnapshot;
  } catch {
    return null;
  }
}
