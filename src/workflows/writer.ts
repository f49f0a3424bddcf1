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
import { MODEL_NAME_PATTERN } from '../archive/manifest.js';
import { ArchiverError, checkOutputPath, FileSet, formatCreatedOn, formatManifestJson, writeZipArchive, type ZipLayout } from '../archive/writer.js';
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

export function buildWorkflowManifest(opts: CreateWorkflowArchiveOptions): WorkflowManifest {
  const workflow: WorkflowManifest['workflow'] = { workflowName: opts.workflowName, specFile: path.basename(opts.specFile) };
  if (opts.handler) workflow.handler = path.basename(opts.handler);
  return { createdOn: formatCreatedOn(opts.now ?? new Date()), workflow, archiverVersion: WORKFLOW_ARCHIVER_VERSION };
}

/** The spec file, the handler, then the extra files (files, or directories' contents). */
async function collect(opts: CreateWorkflowArchiveOptions): Promise<FileSet> {
  const set = new FileSet(WAR_MANIFEST_PATH);
  await set.addFile(opts.specFile);
  if (opts.handler) await set.addFile(opts.handler);
  for (const item of (opts.extraFiles ?? '').split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const st = await fs.stat(item).catch(() => null);
    if (st?.isDirectory()) await set.addDirContents(item);
    else if (st?.isFile()) set.add(path.basename(item), item);
    else throw new ArchiverError(`File does not exist: ${item}`);
  }
  return set;
}

const WAR_LAYOUT: ZipLayout = {
  manifestPath: WAR_MANIFEST_PATH,
  tooLarge: () => new ArchiverError(`The archive would be larger than ${MAX_ZIP_FILE_BYTES} bytes.`),
};

export async function createWorkflowArchive(opts: CreateWorkflowArchiveOptions): Promise<CreateWorkflowArchiveResult> {
  if (!MODEL_NAME_PATTERN.test(opts.workflowName)) {
    throw new ArchiverError(
      `Workflow name contains special characters.\nThe allowed regular expression filter for workflow name is: ${MODEL_NAME_PATTERN.source}`,
    );
  }
  const exportPath = path.resolve(opts.exportPath);
  if (!(await fs.stat(exportPath).catch(() => null))?.isDirectory()) {
    throw new ArchiverError(`Given export-path ${opts.exportPath} is not a directory. Point to a valid export-path directory.`);
  }
  const outputPath = path.join(exportPath, `${opts.workflowName}.war`);
  await checkOutputPath(outputPath, 'workflow', opts);
  const set = await collect(opts);
  const manifest = buildWorkflowManifest(opts);
  const temp = path.join(exportPath, `.${opts.workflowName}.${randomUUID()}.tmp`);
  try {
    await writeZipArchive(temp, set, formatManifestJson(manifest), false, opts.now ?? new Date(), WAR_LAYOUT);
    await fs.rename(temp, outputPath);
  } finally {
    await fs.rm(temp, { force: true });
  }
  return { outputPath, manifest };
}
