/**
 * createArchive: what torch-model-archiver does (spec §6.1, `model_packaging_utils.py`), writing the
 * same layout — artifacts flat at the root plus MAR-INF/MANIFEST.json — in the formats `default`
 * (deflated zip `.mar`), `zip-store` (stored zip `.mar`), `tgz` (`<name>.tar.gz`, all under `<name>/`)
 * and `no-archive` (directory `<export>/<name>/`).
 *
 * Zips are built with adm-zip, which holds the inputs and the finished archive in memory: a `.mar` is
 * limited to MAX_ZIP_FILE_BYTES (2 GiB, also what the server reads), and larger models need `tgz` or
 * `no-archive`. adm-zip writes real sizes and CRCs into the local headers (no data descriptors), which
 * Java's ZipInputStream — what TorchServe reads .mar files with — needs for stored entries.
 *
 * Differences from torch-model-archiver: files are not copied to a staging directory first; output is
 * written under a temporary name and renamed into place, so a failure never leaves a half-written
 * archive; `-f` replaces a `no-archive` directory instead of copying into it; a handler given without an
 * extension may be a `.ts`/`.mts`/`.js`/`.mjs` file (ortserve handlers) as well as `.py`; globs in
 * `--extra-files` work (torch-model-archiver checks that the pattern exists as a literal path first,
 * which defeats them); a `MAR-INF/MANIFEST.json` among the extra files is replaced by the generated one
 * rather than duplicated.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { create as createTar } from 'tar';
import { MANIFEST_PATH, MODEL_NAME_PATTERN } from './manifest.js';
import { servabilityWarnings } from './torchserve-only.js';
import { MAX_ZIP_FILE_BYTES, type Manifest, type ManifestModel } from './types.js';

export type ArchiveFormat = 'default' | 'zip-store' | 'tgz' | 'no-archive';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['tgz', 'no-archive', 'zip-store', 'default'];
export const ARCHIVE_RUNTIMES: readonly string[] = ['python', 'python3', 'LSP'];
export const ARCHIVER_VERSION = '0.12.0';

/** Handler names torch-model-archiver does not copy (they name built-in handlers). */
export const BUILTIN_HANDLERS: readonly string[] = [
  'base_handler',
  'text_classifier',
  'image_classifier',
  'object_detector',
  'image_segmenter',
  'dali_image_classifier',
  'vllm_handler',
  'trt_llm_handler',
];

/** Extensions tried, in order, for a handler path given without one. */
const HANDLER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.py'];
const EXCLUDED_DIRS: ReadonlySet<string> = new Set(['__MACOSX', '__pycache__']);

/** A user error (torch-model-archiver's ModelArchiverError); the CLI prints it and exits 1. */
export class ArchiverError extends Error {}

export interface CreateArchiveOptions {
  modelName: string;
  version: string;
  handler: string;
  serializedFile?: string | null;
  modelFile?: string | null;
  /** Comma-separated list of files, directories (their contents) and globs (`*`, `?` in the last component). */
  extraFiles?: string | null;
  runtime?: string;
  exportPath: string;
  archiveFormat?: ArchiveFormat;
  force?: boolean;
  requirementsFile?: string | null;
  configFile?: string | null;
  /** The creation time written to the manifest (default: now). */
  now?: Date;
  /** Called with warnings (e.g. "Overwriting …"). */
  onWarning?: (message: string) => void;
  /** Fail instead of warning when the archive holds what ortserve cannot run (torchserve-only.ts). */
  strict?: boolean;
}

export interface CreateArchiveResult {
  outputPath: string;
  manifest: Manifest;
  manifestJson: string;
}

const EXTENSIONS: Record<ArchiveFormat, string> = { tgz: '.tar.gz', 'no-archive': '', 'zip-store': '.mar', default: '.mar' };

/** `<exportPath>/<modelName><extension>`, as `get_archive_export_path`. */
export function archiveOutputPath(exportPath: string, modelName: string, format: ArchiveFormat): string {
  return path.join(exportPath, `${modelName}${EXTENSIONS[format]}`);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Python's `strftime("%d/%m/%Y %H:%M:%S")` in local time. */
export function formatCreatedOn(date: Date): string {
  return `${pad(date.getDate())}/${pad(date.getMonth() + 1)}/${date.getFullYear()} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Python's `json.dumps(obj, indent=2)`: same layout as JSON.stringify, plus ASCII-only output. */
export function formatManifestJson(manifest: object): string {
  return JSON.stringify(manifest, null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const baseName = (p: string): string => p.split('/').pop() ?? p;

/** The manifest torch-model-archiver writes, keys in its order, optional keys omitted. */
export function buildManifest(opts: CreateArchiveOptions): Manifest {
  const model: ManifestModel = { modelName: opts.modelName };
  if (opts.serializedFile) model.serializedFile = baseName(opts.serializedFile);
  model.handler = baseName(opts.handler);
  if (opts.modelFile) model.modelFile = baseName(opts.modelFile);
  model.modelVersion = opts.version;
  if (opts.requirementsFile) model.requirementsFile = baseName(opts.requirementsFile);
  if (opts.configFile) model.configFile = baseName(opts.configFile);
  return {
    createdOn: formatCreatedOn(opts.now ?? new Date()),
    runtime: opts.runtime ?? 'python',
    model,
    archiverVersion: ARCHIVER_VERSION,
  };
}

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  return fs.stat(p).catch(() => null);
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Expands `*` and `?` in the last path component; like Python's glob, `*` skips dot files. */
async function expandGlob(pattern: string): Promise<string[]> {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  if (!/[*?]/.test(base)) return (await statOrNull(pattern)) !== null ? [pattern] : [];
  const re = globToRegExp(base);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names
    .filter((name) => re.test(name) && (base.startsWith('.') || !name.startsWith('.')))
    .sort()
    .map((name) => path.join(dir, name));
}

/** The archive's file list: archive name → source file, later additions replacing earlier ones. */
export class FileSet {
  readonly files = new Map<string, string>();

  /** `manifestPath`: the generated manifest's entry (MAR-INF/ or WAR-INF/MANIFEST.json), which no file replaces. */
  constructor(private readonly manifestPath = MANIFEST_PATH) {}

  add(name: string, source: string): void {
    if (name === this.manifestPath) return; // the generated manifest wins
    if (name.split('/').slice(0, -1).some((dir) => EXCLUDED_DIRS.has(dir) || dir.startsWith('.'))) return;
    this.files.delete(name);
    this.files.set(name, source);
  }

  async addFile(file: string): Promise<void> {
    const st = await statOrNull(file);
    if (st === null || !st.isFile()) throw new ArchiverError(`File does not exist: ${file}`);
    this.add(path.basename(file), file);
  }

  /** Adds a directory's contents under `prefix`, following links but never looping. */
  async addDirContents(dir: string, prefix = '', seen: Set<string> = new Set()): Promise<void> {
    const real = await fs.realpath(dir);
    if (seen.has(real)) return;
    seen.add(real);
    for (const name of (await fs.readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const st = await statOrNull(full);
      if (st?.isFile()) this.add(prefix + name, full);
      else if (st?.isDirectory() && !EXCLUDED_DIRS.has(name) && !name.startsWith('.')) {
        await this.addDirContents(full, `${prefix}${name}/`, seen);
      }
    }
  }
}

async function resolveHandlerFile(handler: string): Promise<string | null> {
  if (BUILTIN_HANDLERS.includes(handler)) return null;
  const colon = handler.lastIndexOf(':');
  const file = colon > 0 && /^[A-Za-z_$][\w$]*$/.test(handler.slice(colon + 1)) ? handler.slice(0, colon) : handler;
  if ((await statOrNull(file))?.isFile()) return file;
  if (path.extname(file) === '') {
    for (const ext of HANDLER_EXTENSIONS) if ((await statOrNull(file + ext))?.isFile()) return file + ext;
  }
  throw new ArchiverError(`Handler file does not exist: ${file}`);
}

/** Collects the artifacts in torch-model-archiver's copy order. */
async function collectFiles(opts: CreateArchiveOptions): Promise<FileSet> {
  const set = new FileSet();
  if (opts.modelFile) await set.addFile(opts.modelFile);
  if (opts.serializedFile) await set.addFile(opts.serializedFile);
  const handlerFile = await resolveHandlerFile(opts.handler);
  if (handlerFile !== null) await set.addFile(handlerFile);
  for (const item of (opts.extraFiles ?? '').split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const matches = await expandGlob(item);
    if (matches.length === 0) throw new ArchiverError(`File does not exist: ${item}`);
    for (const match of matches) {
      const st = await statOrNull(match);
      if (st?.isDirectory()) await set.addDirContents(match);
      else if (st?.isFile()) set.add(path.basename(match), match);
      else throw new ArchiverError(`Invalid extra file given ${match}`);
    }
  }
  if (opts.requirementsFile) await set.addFile(opts.requirementsFile);
  if (opts.configFile) await set.addFile(opts.configFile);
  return set;
}

async function writeDirectory(dir: string, set: FileSet, manifestJson: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [name, source] of set.files) {
    const target = path.join(dir, name);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(source, target, fs.constants.COPYFILE_FICLONE);
  }
  await fs.mkdir(path.join(dir, 'MAR-INF'), { recursive: true });
  await fs.writeFile(path.join(dir, MANIFEST_PATH), manifestJson);
}

/** tar.gz with everything under `<name>/`: staged as symlinks, which tar follows. */
async function writeTarball(out: string, modelName: string, set: FileSet, manifestJson: string): Promise<void> {
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), 'ortserve-archiver-'));
  try {
    const root = path.join(staging, modelName);
    for (const [name, source] of set.files) {
      const link = path.join(root, name);
      await fs.mkdir(path.dirname(link), { recursive: true });
      await fs.symlink(path.resolve(source), link);
    }
    await fs.mkdir(path.join(root, 'MAR-INF'), { recursive: true });
    await fs.writeFile(path.join(root, MANIFEST_PATH), manifestJson);
    await createTar({ gzip: true, file: out, cwd: staging, follow: true, portable: true }, [modelName]);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** DOS timestamps start in 1980; adm-zip would write a zero (invalid) date for older files. */
const DOS_EPOCH = new Date(1980, 0, 1);

function tooLargeForZip(bytes: number): ArchiverError {
  return new ArchiverError(
    `The archive would hold ${bytes} bytes; .mar files are built in memory and limited to ${MAX_ZIP_FILE_BYTES} bytes. Use --archive-format tgz or no-archive for larger models.`,
  );
}

/** Where a zip archive puts its manifest, and what it says when it would be too large to build in memory. */
export interface ZipLayout {
  manifestPath: string;
  tooLarge(bytes: number): ArchiverError;
}

const MAR_LAYOUT: ZipLayout = { manifestPath: MANIFEST_PATH, tooLarge: tooLargeForZip };

/**
 * A `.mar` (or, with another layout, a `.war`): the files in collection order (noSort), then the
 * manifest; stored or deflated.
 */
export async function writeZipArchive(out: string, set: FileSet, manifestJson: string, store: boolean, now: Date, layout: ZipLayout = MAR_LAYOUT): Promise<void> {
  const sources = await Promise.all([...set.files].map(async ([name, file]) => ({ name, file, st: await fs.stat(file) })));
  const total = sources.reduce((sum, s) => sum + s.st.size, Buffer.byteLength(manifestJson));
  // Checked before reading anything: adm-zip would read every file into memory first.
  if (total > MAX_ZIP_FILE_BYTES) throw layout.tooLarge(total);

  const zip = new AdmZip(undefined, { noSort: true });
  const entries: AdmZip.IZipEntry[] = [];
  for (const { name, file, st } of sources) {
    // Stats give the entry its mtime and Unix mode, as zipfile.write does.
    const entry = zip.addFile(name, await fs.readFile(file), '', st);
    if (st.mtime < DOS_EPOCH) entry.header.time = DOS_EPOCH;
    entries.push(entry);
  }
  const manifest = zip.addFile(layout.manifestPath, Buffer.from(manifestJson, 'utf8'), '', 0o644);
  manifest.header.time = now;
  entries.push(manifest);
  // addFile marks non-empty entries deflated; zip-store stores them (empty ones are always stored).
  if (store) for (const entry of entries) entry.header.method = 0;

  // The synchronous build: the async one recurses once per stored entry and can exhaust the stack.
  const data = zip.toBuffer();
  if (data.length > MAX_ZIP_FILE_BYTES) throw layout.tooLarge(data.length);
  await fs.writeFile(out, data, { flag: 'wx', mode: 0o644 });
}

/** An existing output is refused without `force` (torch-model-archiver's words), and replaced with a warning. */
export async function checkOutputPath(
  outputPath: string,
  kind: 'model' | 'workflow',
  opts: { force?: boolean | undefined; onWarning?: ((message: string) => void) | undefined },
): Promise<void> {
  if ((await fs.lstat(outputPath).catch(() => null)) === null) return;
  if (!opts.force) {
    throw new ArchiverError(
      `${outputPath} already exists.\nPlease specify --force/-f option to overwrite the ${kind} archive output file.\nSee -h/--help for more details.`,
    );
  }
  opts.onWarning?.(`Overwriting ${outputPath} ...`);
}

/** Creates the archive; throws ArchiverError for the errors torch-model-archiver reports. */
export async function createArchive(opts: CreateArchiveOptions): Promise<CreateArchiveResult> {
  const format = opts.archiveFormat ?? 'default';
  if (!MODEL_NAME_PATTERN.test(opts.modelName)) {
    throw new ArchiverError(
      `Model name contains special characters.\nThe allowed regular expression filter for model name is: ${MODEL_NAME_PATTERN.source}`,
    );
  }
  if (opts.runtime !== undefined && !ARCHIVE_RUNTIMES.includes(opts.runtime)) throw new ArchiverError(`Invalid runtime: ${opts.runtime}`);
  const exportPath = path.resolve(opts.exportPath);
  await fs.mkdir(exportPath, { recursive: true }).catch(() => undefined);
  if (!(await statOrNull(exportPath))?.isDirectory()) {
    throw new ArchiverError(`Given export-path ${opts.exportPath} is not a directory. Point to a valid export-path directory.`);
  }
  const outputPath = archiveOutputPath(exportPath, opts.modelName, format);
  await checkOutputPath(outputPath, 'model', opts);

  const set = await collectFiles(opts);
  const warnings = servabilityWarnings(opts, !BUILTIN_HANDLERS.includes(opts.handler));
  for (const w of warnings) opts.onWarning?.(w);
  if (opts.strict && warnings.length > 0) {
    throw new ArchiverError(`--strict: the archive holds what ortserve cannot run (${warnings.length} warning${warnings.length > 1 ? 's' : ''} above)`);
  }
  const manifest = buildManifest(opts);
  const manifestJson = formatManifestJson(manifest);
  const temp = path.join(exportPath, `.${opts.modelName}.${randomUUID()}.tmp`);
  try {
    if (format === 'no-archive') {
      await writeDirectory(temp, set, manifestJson);
      await fs.rm(outputPath, { recursive: true, force: true });
    } else if (format === 'tgz') {
      await writeTarball(temp, opts.modelName, set, manifestJson);
    } else {
      await writeZipArchive(temp, set, manifestJson, format === 'zip-store', opts.now ?? new Date());
    }
    await fs.rename(temp, outputPath);
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
  return { outputPath, manifest, manifestJson };
}
