/**
 * Config snapshots (spec §5.1): after every change to the set of models, their default versions or
 * worker counts, the whole configuration plus `model_snapshot` is written to
 * `$LOG_LOCATION/config/<timestamp>-<kind>.cfg`. Files are written to a temporary name, flushed and
 * renamed, so a crash (even `kill -9`) mid-write leaves the previous snapshot intact and never a
 * partial one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { formatSnapshotFile, snapshotFileName } from '../config/snapshot-file.js';
import type { ServerConfig } from '../config/types.js';
import type { ModelManager } from '../registry/model-manager.js';

/** How many snapshot files to keep; TorchServe keeps every one, which grows without bound. */
const KEEP_SNAPSHOTS = 20;

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

export interface ModelSnapshot {
  name: string;
  modelCount: number;
  created: number;
  models: Record<string, Record<string, SnapshotVersion>>;
}

export class SnapshotManager {
  readonly dir: string;

  constructor(
    private readonly config: ServerConfig,
    private readonly manager: ModelManager,
  ) {
    this.dir = path.join(config.logLocation, 'config');
  }

  /** The registry as TorchServe's `model_snapshot` JSON. */
  current(fileName: string, now: Date): ModelSnapshot {
    const registry = this.manager.registry;
    const models: ModelSnapshot['models'] = {};
    let count = 0;
    for (const name of registry.names()) {
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

  save(kind: 'startup' | 'snapshot' | 'shutdown'): void {
    if (!this.config.snapshotsEnabled) return;
    const now = new Date();
    const name = snapshotFileName(now, kind);
    const properties = { ...this.config.properties };
    delete properties.model_snapshot;
    const text = formatSnapshotFile(properties, JSON.stringify(this.current(name, now)), now);
    mkdirSync(this.dir, { recursive: true });
    const target = path.join(this.dir, name);
    const tmp = path.join(this.dir, `.${name}.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    this.prune();
  }

  private prune(): void {
    const files = readdirSync(this.dir)
      .filter((f) => /^\d{17}-(startup|snapshot|shutdown)\.cfg$/.test(f))
      .sort();
    for (const f of files.slice(0, Math.max(0, files.length - KEEP_SNAPSHOTS))) rmSync(path.join(this.dir, f), { force: true });
  }
}

/** Parses `model_snapshot`; null when it is missing or not the expected shape. */
export function parseModelSnapshot(json: string | null): ModelSnapshot | null {
  if (!json) return null;
  try {
    const parsed = JSON.parse(json) as Partial<ModelSnapshot>;
    if (typeof parsed.models !== 'object' || parsed.models === null) return null;
    return parsed as ModelSnapshot;
  } catch {
    return null;
  }
}
