/**
 * Which snapshot a starting server restores, read once: the config file itself when it is a snapshot
 * (it holds `model_snapshot`), otherwise, unless snapshots are off, the newest one in
 * `$LOG_LOCATION/config/`. ortserve looks there even when `--ts-config` was given (TorchServe does not).
 */
import { readFileSync } from 'node:fs';
import { findLatestSnapshot } from '../config/load-config.js';
import { parseProperties } from '../config/properties.js';
import type { ServerConfig } from '../config/types.js';
import { parseModelSnapshot, type ModelSnapshot } from './snapshot-manager.js';

export interface SnapshotToRestore {
  snapshot: ModelSnapshot;
  /** The `load_models` entries of the run that wrote the snapshot: it already accounts for them. */
  loadModels: Set<string>;
}

export function splitLoadModels(entries: string[]): string[] {
  return entries
    .flatMap((e) => e.split(','))
    .map((e) => e.trim())
    .filter(Boolean);
}

export function snapshotToRestore(config: ServerConfig): SnapshotToRestore | null {
  if (!config.snapshotsEnabled) return null;
  const file = config.modelSnapshot !== null ? config.configFile : findLatestSnapshot(config.logLocation);
  if (!file) return null;
  let props: Map<string, string>;
  try {
    props = parseProperties(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  const snapshot = parseModelSnapshot(props.get('model_snapshot') ?? null);
  if (!snapshot) return null;
  const loadModels = props.get('load_models');
  return { snapshot, loadModels: new Set(loadModels === undefined ? [] : splitLoadModels([loadModels])) };
}
