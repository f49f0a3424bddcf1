/**
 * Registers, scales, re-defaults and unregisters model versions (TorchServe's ModelManager, spec §2).
 * Every change that a snapshot must remember calls `onChange`.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { validateModelName, validateModelVersion } from '../archive/manifest.js';
import { EXTRACT_ROOT_NAME } from '../archive/extract.js';
import { openArchive } from '../archive/open-archive.js';
import { ownedDirName, sweepDeadOwners } from '../archive/owned-dirs.js';
import { resolveModelUrl } from '../archive/resolve-url.js';
import type { OpenedArchive } from '../archive/types.js';
import type { ServerConfig } from '../config/types.js';
import {
  BadRequestException,
  InternalServerException,
  InvalidModelException,
  ServeError,
} from '../errors.js';
import { CONSOLE_OUTPUT, type WorkerOutput } from '../logging/worker-output.js';
import { NO_METRICS, type ServerMetrics } from '../metrics/hooks.js';
import { MemoryGuard } from '../scheduling/memory-guard.js';
import { prepareHandler, type PreparedHandler } from '../workers/handler-source.js';
import { autoTune } from './auto-layout.js';
import { ModelRegistry } from './model-registry.js';
import { ModelVersion, WorkerIdCounter } from './model-version.js';
import { checkModelSources, checkRegisterParams, checkScale, resolveSettings, type RegisterParams } from './settings.js';

/**
 * TorchServe's "Failed to start workers" message, followed by why the worker failed (the handler's or
 * ONNX Runtime's error, paths relative to the archive), so the client need not read the server log.
 */
function withCause(message: string, err: unknown): string {
  const cause = err instanceof Error ? err.message.trim() : '';
  return cause ? `${message}. Cause: ${cause}` : message;
}

const RUNTIMES = new Set(['python', 'python3', 'LSP']);

export interface ApiResult {
  status: number;
  message: string;
}

/** Where each registration compiles its handler (`${tempDir}/ortserve-work/<host>-<pid>-<uuid>`). */
export const WORK_ROOT_NAME = 'ortserve-work';

export class ModelManager {
  readonly registry = new ModelRegistry();
  /** Refuses predictions while the process is over max_process_rss_mb (shared by every transport). */
  readonly memoryGuard: MemoryGuard;
  private readonly ids: WorkerIdCounter;

  constructor(
    readonly config: ServerConfig,
    private readonly onChange: () => void,
    private readonly log: (message: string) => void = () => undefined,
    private readonly metrics: ServerMetrics = NO_METRICS,
    private readonly workerOutput: WorkerOutput = CONSOLE_OUTPUT,
  ) {
    this.ids = new WorkerIdCounter(config.initialWorkerPort);
    this.memoryGuard = new MemoryGuard(config.maxProcessRssMb);
  }

  /**
   * Removes the extraction and work directories a dead server of this host left under the temporary
   * directory (after `kill -9`); called once at startup, before anything is registered.
   */
  async sweepStaleDirs(): Promise<void> {
    for (const root of [EXTRACT_ROOT_NAME, WORK_ROOT_NAME]) {
      const removed = await sweepDeadOwners(path.join(this.config.tempDir, root));
      if (removed.length > 0) this.log(`Removed ${removed.length} directories a stopped server left in ${path.join(this.config.tempDir, root)}`);
    }
  }

  async register(given: RegisterParams): Promise<ApiResult> {
    const url = given.url;
    if (url === undefined) throw new BadRequestException('Parameter url is required.');
    const params = { ...given, url };
    if (params.runtime !== undefined && !RUNTIMES.has(params.runtime)) {
      throw new BadRequestException(`Invalid RuntimeType value: ${params.runtime}`);
    }
    checkRegisterParams(params, this.config);
    const resolved = await resolveModelUrl(params.url, {
      modelStore: this.config.modelStore,
      allowedUrls: this.config.allowedUrls,
    });
    const workDir = path.join(this.config.tempDir, WORK_ROOT_NAME, ownedDirName());
    let archive: OpenedArchive | null = null;
    let mv: ModelVersion;
    try {
      archive = await openArchive(resolved.source, { tempDir: this.config.tempDir });
      mv = await this.createVersion(params, archive, workDir, resolved.downloadedFile);
    } catch (err) {
      await archive?.dispose();
      await rm(workDir, { recursive: true, force: true });
      if (resolved.downloadedFile) await rm(resolved.downloadedFile, { force: true });
      this.metrics.modelLoad(params.modelName || nameFromUrl(params.url), '', false);
      throw err;
    }
    const { name, version } = mv;
    const workers = mv.settings.minWorkers;
    if (workers <= 0) {
      this.metrics.modelLoad(name, version, true);
      this.onChange();
      return {
        status: 200,
        message: `Model "${name}" Version: ${version} registered with 0 initial workers. Use scale workers API to add workers for the model.`,
      };
    }
    if (!params.synchronous) {
      await mv.start(false, autoTune);
      this.metrics.modelLoad(name, version, true);
      this.onChange();
      return { status: 202, message: 'Processing worker updates...' };
    }
    try {
      await mv.start(true, autoTune);
    } catch (err) {
      this.registry.forget(mv);
      await mv.dispose();
      this.metrics.modelLoad(name, version, false);
      const status = err instanceof ServeError ? err.status : 500;
      throw new InternalServerException(withCause(`Failed to start workers for model ${name} version: ${version}`, err), status);
    }
    this.metrics.modelLoad(name, version, true);
    this.onChange();
    return { status: 200, message: `Model "${name}" Version: ${version} registered with ${workers} initial workers` };
  }

  private async createVersion(
    params: RegisterParams & { url: string },
    archive: OpenedArchive,
    workDir: string,
    downloadedFile: string | null,
  ): Promise<ModelVersion> {
    const manifest = archive.manifest;
    const name = params.modelName || manifest.model.modelName || (params.loadedAtStartup ? nameFromUrl(params.url) : '');
    validateModelName(name);
    const version = manifest.model.modelVersion || '1.0';
    validateModelVersion(version);
    for (const w of archive.warnings ?? []) this.log(`Model ${name} ${version}: ${w}`);
    this.registry.assertFree(name, version);
    // Own properties only: a model named "constructor" must not pick up Object.prototype members.
    const fromModelsJson =
      Object.hasOwn(this.config.modelsJson, name) && Object.hasOwn(this.config.modelsJson[name]!, version) ? this.config.modelsJson[name]![version] : undefined;
    checkModelSources(archive.modelConfig, fromModelsJson, `model ${name} version ${version}`, this.config);
    const handlerSpec = params.handler || manifest.model.handler || this.config.defaultServiceHandler;
    if (!handlerSpec) throw new InvalidModelException('Handler is not defined in the manifest or the register request.');
    const handler = await prepareHandler(handlerSpec, archive.modelDir, workDir).catch((err: unknown): PreparedHandler => {
      if (!(err instanceof InvalidModelException)) throw err;
      this.log(`Model ${name} ${version}: its workers cannot start: ${err.message}`);
      return { unusable: err.message };
    });
    const settings = resolveSettings(params, archive.modelConfig, archive.hasConfigFile, fromModelsJson, this.config);
    const mv = new ModelVersion(
      {
        name,
        version,
        url: params.url,
        archive,
        handler,
        settings,
        runtime: params.runtime ?? manifest.runtime ?? 'python',
        loadedAtStartup: params.loadedAtStartup ?? false,
        workDir,
        downloadedFile,
      },
      this.config,
      this.ids,
      this.metrics,
      this.workerOutput,
    );
    this.registry.add(mv);
    return mv;
  }

  /** PUT /models/{m}[/{v}] (spec §2.2). */
  async scale(name: string, version: string | null, min: number, max: number, synchronous: boolean): Promise<ApiResult> {
    if (max < min) throw new BadRequestException('max_worker cannot be less than min_worker.');
    const mv = this.registry.get(name, version);
    checkScale(min, max, this.config);
    if (!synchronous) {
      await mv.scale(min, max, false);
      this.onChange();
      return { status: 202, message: 'Processing worker updates...' };
    }
    try {
      await mv.scale(min, max, true);
    } catch (err) {
      this.onChange();
      const status = err instanceof ServeError ? err.status : 500;
      throw new InternalServerException(withCause(`Failed to start workers for model ${name} version: ${version ?? 'null'}`, err), status);
    }
    this.onChange();
    const suffix = version ? `, version: ${version}` : '';
    return { status: 200, message: `Workers scaled to ${min} for model: ${name}${suffix}` };
  }

  /** DELETE /models/{m}[/{v}] (spec §2.5). */
  async unregister(name: string, version: string | null): Promise<ApiResult> {
    const mv = this.registry.remove(name, version);
    this.onChange();
    await mv.dispose();
    return { status: 200, message: `Model "${name}" unregistered` };
  }

  /** PUT /models/{m}/{v}/set-default (spec §2.6). */
  setDefault(name: string, version: string): ApiResult {
    this.registry.setDefault(name, version);
    this.onChange();
    return { status: 200, message: `Default version successfully updated for model "${name}" to "${version}"` };
  }

  /** `/ping`: every model's default version has enough healthy workers. */
  isHealthy(): boolean {
    return this.registry.names().every((n) => this.registry.get(n).isHealthy());
  }

  /** Stops every worker (running batches get `graceMs`) and removes every extracted archive (server shutdown). */
  async shutdown(graceMs?: number): Promise<void> {
    await Promise.all(this.registry.all().map((v) => v.dispose(graceMs)));
  }
}

/** load_models' last-resort name: the file name without extension, non-word characters as `_`. */
export function nameFromUrl(url: string): string {
  const base = url.replace(/[/\\]+$/, '').split(/[/\\]/).pop() ?? '';
  return base.replace(/(\.tar\.gz|\.[^.]*)$/, '').replace(/\W/g, '_');
}
