/**
 * openArchive: turns a resolved source (an archive file or a model directory) into an OpenedArchive —
 * the handler's model_dir, the manifest and the model config. Archive files are extracted into a fresh
 * private directory that dispose() removes; directories are served in place.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { ModelNotFoundException } from '../errors.js';
import { createExtractionDir, detectArchiveKind, extractArchive, removeDir } from './extract.js';
import { readManifest } from './manifest.js';
import { readModelConfig } from './model-config.js';
import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits, type OpenedArchive } from './types.js';

export interface OpenArchiveOptions {
  /** Parent of the `ortserve-models/` extraction directory (config `tempDir`). */
  tempDir: string;
  limits?: ExtractLimits;
}

/**
 * A directory whose only entry is a sub-directory is unwrapped to it (TorchServe's rule for model
 * directories, and what `--archive-format tgz` produces: everything under `<name>/`). A lone `MAR-INF`
 * is the archive's own metadata, not a wrapper.
 */
export async function unwrapSingleDirectory(dir: string): Promise<string> {
  const names = await fs.readdir(dir);
  if (names.length !== 1 || names[0] === 'MAR-INF') return dir;
  const only = path.join(dir, names[0]!);
  const st = await fs.stat(only).catch(() => null);
  return st?.isDirectory() === true ? only : dir;
}

async function load(modelDir: string, extracted: boolean, dispose: () => Promise<void>, archiveSha256: string | null): Promise<OpenedArchive> {
  const warnings: string[] = [];
  const manifest = await readManifest(modelDir);
  const { modelConfig, hasConfigFile } = await readModelConfig(modelDir, manifest, warnings);
  return { modelDir, manifest, modelConfig, hasConfigFile, dispose, extracted, warnings, archiveSha256 };
}

/** The file's SHA-256, hex, streamed (archives can be gigabytes). */
async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Opens `source`. Throws ModelNotFoundException when it does not exist, InvalidModelException for a bad
 * archive, manifest or config; nothing is left under `tempDir` when it throws.
 */
export async function openArchive(source: string, opts: OpenArchiveOptions): Promise<OpenedArchive> {
  const limits = opts.limits ?? DEFAULT_EXTRACT_LIMITS;
  const st = await fs.stat(source).catch(() => null);
  if (st === null) throw new ModelNotFoundException(`Model not found at: ${source}`);

  if (st.isDirectory()) {
    const modelDir = await unwrapSingleDirectory(path.resolve(source));
    return load(modelDir, false, async () => undefined, null);
  }
  if (!st.isFile()) throw new ModelNotFoundException(`Model not found at: ${source}`);

  const kind = await detectArchiveKind(source);
  const dir = await createExtractionDir(opts.tempDir);
  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await removeDir(dir);
  };
  try {
    const [sha] = await Promise.all([sha256File(source), extractArchive(source, dir, kind, limits)]);
    const modelDir = kind === 'tar' ? await unwrapSingleDirectory(dir) : dir;
    return await load(modelDir, true, dispose, sha);
  } catch (err) {
    await dispose();
    throw err;
  }
}
