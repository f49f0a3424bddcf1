/**
 * Extraction of an archive file into a private directory: format detection, the directory itself
 * (`${tempDir}/ortserve-models/<uuid>`, mode 0700) and the translation of archive problems into
 * InvalidModelException. The format-specific work is in zip-extract.ts (adm-zip) and tar-extract.ts
 * (node-tar).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InternalServerException, InvalidModelException } from '../errors.js';
import { ArchiveError } from './extract-guard.js';
import { ownedDirName } from './owned-dirs.js';
import { extractTar } from './tar-extract.js';
import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from './types.js';
import { extractZipOffThread } from './zip-extract-thread.js';

export type ArchiveKind = 'zip' | 'tar';

/** Name of the directory under the temp dir that holds every extracted model. */
export const EXTRACT_ROOT_NAME = 'ortserve-models';

/** The kind an extension promises, or null when it says nothing. */
export function kindFromExtension(file: string): ArchiveKind | null {
  const lower = file.toLowerCase();
  if (lower.endsWith('.mar') || lower.endsWith('.zip') || lower.endsWith('.model')) return 'zip';
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz') || lower.endsWith('.tar')) return 'tar';
  return null;
}

function kindFromMagic(head: Buffer): ArchiveKind | null {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && [3, 5, 7].includes(head[2]!)) return 'zip';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  return null;
}

/**
 * Decides how to open a file. The content wins over the extension, so a tarball saved as `.mar` still
 * opens; the extension decides only when the first bytes are not recognised (the extractor then says
 * what is wrong with the file).
 */
export async function detectArchiveKind(file: string): Promise<ArchiveKind> {
  const handle = await fs.open(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const kind = kindFromMagic(head) ?? kindFromExtension(file);
  if (kind === null) {
    throw new InvalidModelException(
      `Unrecognized archive format: ${path.basename(file)} is neither a zip (.mar) nor a tar.gz file.`,
    );
  }
  return kind;
}

/**
 * Creates `${tempDir}/ortserve-models/<host>-<pid>-<uuid>` (owned-dirs.ts) with mode 0700. The shared parent is checked too: if
 * another user created it (or it is a symlink), they could read or swap our models.
 */
export async function createExtractionDir(tempDir: string): Promise<string> {
  const root = path.join(path.resolve(tempDir), EXTRACT_ROOT_NAME);
  await fs.mkdir(root, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(root);
  if (!st.isDirectory()) throw new InternalServerException(`${root} is not a directory`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new InternalServerException(`${root} belongs to another user`);
  }
  const dir = path.join(root, ownedDirName());
  await fs.mkdir(dir, { mode: 0o700 });
  return dir;
}

/** Removes a directory tree, ignoring one that is already gone. */
export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true, maxRetries: 2 });
}

/**
 * Extracts `file` into the existing empty directory `dest`. Problems with the archive become
 * InvalidModelException (400) naming the file; I/O failures on our side (disk full …) pass through.
 * The caller removes `dest` on failure.
 */
export async function extractArchive(
  file: string,
  dest: string,
  kind: ArchiveKind,
  limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
): Promise<void> {
  try {
    if (kind === 'zip') await extractZipOffThread(file, dest, limits);
    else await extractTar(file, dest, limits);
  } catch (err) {
    if (err instanceof ArchiveError) {
      throw new InvalidModelException(`Failed to extract model archive ${path.basename(file)}: ${err.message}`);
    }
    throw err;
  }
}
