/**
 * createWorkflowArchive: what torch-workflow-archiver does (`workflow_packaging.py`): the spec file, the
 * handler and the extra files flat at the root of a deflated zip `<export-path>/<workflow-name>.war`,
 * plus WAR-INF/MANIFEST.json (`{"createdOn", "workflow": {"workflowName", "specFile", "handler"},
 * "archiverVersion"}`, written with `json.dumps(indent=2)`).
 *
 * Differences: `--extra-files` takes a comma-separated list (files, and directories whose contents are
 * added), as ortserve-archiver does, where torch-workflow-archiver copies a single file; the archive is
 * written under a temporary name and renamed into place; a missing input is an "ERROR - File does not
 * exist" rather than a Python traceback. Entries carry their files' mtimes, so pinned mtimes and a fixed
 * `now` give a byte-identical archive.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { ArchiverError, formatCreatedOn } from '../archive/writer.js';
import { MAX_ZIP_FILE_BYTES } from '../archive/types.js';
import { WAR_MANIFEST_PATH, WORKFLOW_ARCHIVER_VERSION, type WorkflowManifest } from './manifest.js';

export interface CreateWorkflowArchiveOptions {
  workflowName: string;
  specFile: string;
  handler?: string | null;
  /** Comma-separated files or directories (their contents). */
  extraFiles?: string | null;
  exportPath: string;
  force?: boolean;
  now?: Date;
  onWarning?: (message: string) => void;
}

export interface CreateWorkflowArchiveResult {
  outputPath: string;
  manifest: WorkflowManifest;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/;
const EXCLUDED_DIRS = new Set(['__MACOSX', '__pycache__']);
const DOS_EPOCH = new Date(1980, 0, 1);

export function buildWorkflowManifest(opts: CreateWorkflowArchiveOptions): WorkflowManifest {
  const workflow: WorkflowManifest['workflow'] = { workflowName: opts.workflowName, specFile: path.basename(opts.specFile) };
  if (opts.handler) workflow.handler = path.basename(opts.handler);
  return { createdOn: formatCreatedOn(opts.now ?? new Date()), workflow, archiverVersion: WORKFLOW_ARCHIVER_VERSION };
}

async function addDir(files: Map<string, string>, dir: string, prefix: string): Promise<void> {
  for (const name of (await fs.readdir(dir)).sort()) {
    const full = path.join(dir, name);
    const st = await fs.stat(full).catch(() => null);
    if (st?.isFile()) files.set(prefix + name, full);
    else if (st?.isDirectory() && !EXCLUDED_DIRS.has(name) && !name.startsWith('.')) await addDir(files, full, `${prefix}${name}/`);
  }
}

async function collect(opts: CreateWorkflowArchiveOptions): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const addFile = async (file: string): Promise<void> => {
    if (!(await fs.stat(file).catch(() => null))?.isFile()) throw new ArchiverError(`File does not exist: ${file}`);
    files.set(path.basename(file), file);
  };
  await addFile(opts.specFile);
  if (opts.handler) await addFile(opts.handler);
  for (const item of (opts.extraFiles ?? '').split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const st = await fs.stat(item).catch(() => null);
    if (st?.isDirectory()) await addDir(files, item, '');
    else if (st?.isFile()) files.set(path.basename(item), item);
    else throw new ArchiverError(`File does not exist: ${item}`);
  }
  files.delete(WAR_MANIFEST_PATH);
  return files;
}

export async function createWorkflowArchive(opts: CreateWorkflowArchiveOptions): Promise<CreateWorkflowArchiveResult> {
  if (!NAME_PATTERN.test(opts.workflowName)) {
    throw new ArchiverError(
      `Workflow name contains special characters.\nThe allowed regular expression filter for workflow name is: ${NAME_PATTERN.source}`,
    );
  }
  const exportPath = path.resolve(opts.exportPath);
  if (!(await fs.stat(exportPath).catch(() => null))?.isDirectory()) {
    throw new ArchiverError(`Given export-path ${opts.exportPath} is not a directory. Point to a valid export-path directory.`);
  }
  const outputPath = path.join(exportPath, `${opts.workflowName}.war`);
  if ((await fs.lstat(outputPath).catch(() => null)) !== null) {
    if (!opts.force) {
      throw new ArchiverError(
        `${outputPath} already exists.\nPlease specify --force/-f option to overwrite the workflow archive output file.\nSee -h/--help for more details.`,
      );
    }
    opts.onWarning?.(`Overwriting ${outputPath} ...`);
  }
  const files = await collect(opts);
  const manifest = buildWorkflowManifest(opts);
  const manifestJson = JSON.stringify(manifest, null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

  const zip = new AdmZip(undefined, { noSort: true });
  let total = Buffer.byteLength(manifestJson);
  for (const [name, file] of files) {
    const st = await fs.stat(file);
    total += st.size;
    if (total > MAX_ZIP_FILE_BYTES) throw new ArchiverError(`The archive would be larger than ${MAX_ZIP_FILE_BYTES} bytes.`);
    const entry = zip.addFile(name, await fs.readFile(file), '', st);
    if (st.mtime < DOS_EPOCH) entry.header.time = DOS_EPOCH;
  }
  const entry = zip.addFile(WAR_MANIFEST_PATH, Buffer.from(manifestJson, 'utf8'), '', 0o644);
  entry.header.time = opts.now ?? new Date();
  const temp = path.join(exportPath, `.${opts.workflowName}.${randomUUID()}.tmp`);
  try {
    await fs.writeFile(temp, zip.toBuffer(), { flag: 'wx', mode: 0o644 });
    await fs.rename(temp, outputPath);
  } finally {
    await fs.rm(temp, { force: true });
  }
  return { outputPath, manifest };
}
