/**
 * Name → versions → default version, with TorchServe's lookup errors (spec §1.7, §2.4–2.6). Holds no
 * I/O: the model manager does the loading and unloading around it.
 */
import {
  ConflictStatusException,
  InvalidModelVersionException,
  ModelNotFoundException,
  ModelVersionNotFoundException,
} from '../errors.js';
import type { ModelVersion } from './model-version.js';

interface ModelEntry {
  versions: Map<string, ModelVersion>;
  defaultVersion: string;
}

export class ModelRegistry {
  private models = new Map<string, ModelEntry>();

  /** Names sorted lexicographically, as TorchServe lists them. */
  names(): string[] {
    return [...this.models.keys()].sort();
  }

  has(name: string): boolean {
    return this.models.has(name);
  }

  /** The named version, or the default version when `version` is null or empty. */
  get(name: string, version?: string | null): ModelVersion {
    const entry = this.entry(name);
    if (!version) return entry.versions.get(entry.defaultVersion)!;
    const v = entry.versions.get(version);
    if (!v) throw new ModelVersionNotFoundException(`Model version: ${version} does not exist for model: ${name}`);
    return v;
  }

  versions(name: string): ModelVersion[] {
    return [...this.entry(name).versions.values()];
  }

  defaultVersion(name: string): string {
    return this.entry(name).defaultVersion;
  }

  /** Every version of every model, for snapshots and shutdown. */
  all(): ModelVersion[] {
    return [...this.models.values()].flatMap((e) => [...e.versions.values()]);
  }

  /** Throws the 409 TorchServe sends for a duplicate name + version. */
  assertFree(name: string, version: string): void {
    if (this.models.get(name)?.versions.has(version)) {
      throw new ConflictStatusException(`Model version ${version} is already registered for model ${name}`);
    }
  }

  /** Adds a version; the first version of a model becomes its default. */
  add(v: ModelVersion): void {
    this.assertFree(v.name, v.version);
    const entry = this.models.get(v.name);
    if (entry) entry.versions.set(v.version, v);
    else this.models.set(v.name, { versions: new Map([[v.version, v]]), defaultVersion: v.version });
  }

  /**
   * Removes a version (the default one when `version` is null). The default version cannot go while
   * other versions remain (403, spec §2.5).
   */
  remove(name: string, version?: string | null): ModelVersion {
    const entry = this.entry(name);
    const target = version || entry.defaultVersion;
    const v = entry.versions.get(target);
    if (!v) throw new ModelVersionNotFoundException(`Model version: ${target} does not exist for model: ${name}`);
    if (target === entry.defaultVersion && entry.versions.size > 1) {
      throw new InvalidModelVersionException(`Cannot remove default version for model ${name}`);
    }
    entry.versions.delete(target);
    if (entry.versions.size === 0) this.models.delete(name);
    return v;
  }

  /** Removes a version no matter whether it is the default (a failed registration rolling back). */
  forget(v: ModelVersion): void {
    const entry = this.models.get(v.name);
    if (!entry || entry.versions.get(v.version) !== v) return;
    entry.versions.delete(v.version);
    if (entry.versions.size === 0) this.models.delete(v.name);
    else if (entry.defaultVersion === v.version) entry.defaultVersion = entry.versions.keys().next().value!;
  }

  setDefault(name: string, version: string): void {
    const entry = this.entry(name);
    if (!entry.versions.has(version)) {
      throw new ModelVersionNotFoundException(`Model version ${version} does not exist for model ${name}`);
    }
    entry.defaultVersion = version;
  }

  private entry(name: string): ModelEntry {
    const entry = this.models.get(name);
    if (!entry) throw new ModelNotFoundException(`Model not found: ${name}`);
    return entry;
  }
}
