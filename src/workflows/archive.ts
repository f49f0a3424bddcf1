/**
 * Opening a workflow archive (TorchServe's `WorkflowArchive.downloadWorkflow` + `load` + `validate`): the
 * `.war` is found in the workflow store (or fetched there from an allowed URL, with the model archives'
 * resolution code), extracted with the model archives' safe extraction (no `..` or absolute entries, no
 * links, size and ratio caps) into a private directory, and its manifest, spec file and handler read.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createExtractionDir, detectArchiveKind, extractArchive, removeDir } from '../archive/extract.js';
import { MODEL_NAME_PATTERN } from '../archive/manifest.js';
import { resolveModelUrl } from '../archive/resolve-url.js';
import { nameLengthProblem } from '../config/limits.js';
import type { ServerConfig } from '../config/types.js';
import { InvalidModelException, ModelNotFoundException } from '../errors.js';
import { InvalidWorkflowException, WorkflowNotFoundException } from './errors.js';
import { readWorkflowManifest, validateWorkflowManifest, type WorkflowManifest } from './manifest.js';

export interface OpenedWorkflowArchive {
  /** The url given to register (what the list and describe APIs report). */
  url: string;
  name: string;
  /** The private extraction directory: the function nodes' model_dir. */
  dir: string;
  manifest: WorkflowManifest;
  specText: string;
  /** The handler file's name inside `dir`, or null when the archive has none. */
  handler: string | null;
  /** A .war this registration downloaded into the workflow store (deleted on unregister). */
  downloadedFile: string | null;
  dispose(): Promise<void>;
}

/** A file named by the manifest must be a plain file at (or under) the archive's root. */
async function archiveFile(dir: string, name: string, what: string): Promise<string> {
  const full = path.resolve(dir, name);
  const st = name.includes('..') || path.isAbsolute(name) ? null : await fs.lstat(full).catch(() => null);
  if (!st?.isFile()) throw new InvalidWorkflowException(`The ${what} "${name}" named in the workflow manifest is missing from the archive.`);
  return full;
}

export async function openWorkflowArchive(url: string, workflowName: string | undefined, config: ServerConfig): Promise<OpenedWorkflowArchive> {
  const store = config.workflowStore ?? config.modelStore;
  if (store === null) throw new WorkflowNotFoundException('Workflow store has not been configured.');
  let resolved;
  try {
    resolved = await resolveModelUrl(url, { modelStore: store, allowedUrls: config.allowedUrls });
  } catch (err) {
    if (err instanceof ModelNotFoundException) {
      const m = /^Model not found at: (.*)$/.exec(err.message);
      throw new WorkflowNotFoundException(m ? `Workflow not found in workflow store: ${m[1]}` : err.message);
    }
    throw err;
  }
  const source = resolved.source;
  if (!(await fs.stat(source)).isFile()) {
    if (resolved.downloadedFile) await fs.rm(resolved.downloadedFile, { force: true });
    throw new WorkflowNotFoundException(`Workflow not found at: ${url}`);
  }
  const dir = await createExtractionDir(config.tempDir);
  const dispose = async (): Promise<void> => {
    await removeDir(dir);
    if (resolved.downloadedFile) await fs.rm(resolved.downloadedFile, { force: true });
  };
  try {
    try {
      await extractArchive(source, dir, await detectArchiveKind(source));
    } catch (err) {
      if (err instanceof InvalidModelException) {
        throw new InvalidWorkflowException(err.message.replace('model archive', 'workflow archive').replace('Unrecognized archive format', 'Unrecognized workflow archive format'));
      }
      throw err;
    }
    const manifest = await readWorkflowManifest(dir);
    if (workflowName && manifest.workflow) manifest.workflow.workflowName = workflowName;
    else if (workflowName && !manifest.workflow && manifest.archiverVersion !== undefined) manifest.workflow = { workflowName };
    validateWorkflowManifest(manifest);
    const name = manifest.workflow.workflowName;
    if (!MODEL_NAME_PATTERN.test(name)) {
      throw new InvalidWorkflowException(`Workflow name contains special characters. The allowed regular expression filter for workflow name is: ${MODEL_NAME_PATTERN.source}`);
    }
    const tooLong = nameLengthProblem('Workflow name', name);
    if (tooLong !== null) throw new InvalidWorkflowException(tooLong);
    if (!manifest.workflow.specFile) throw new InvalidWorkflowException('The workflow manifest names no specFile.');
    const specText = await fs.readFile(await archiveFile(dir, manifest.workflow.specFile, 'spec file'), 'utf8');
    const handler = manifest.workflow.handler ? manifest.workflow.handler : null;
    if (handler !== null) await archiveFile(dir, handler, 'handler file');
    return { url, name, dir, manifest, specText, handler, downloadedFile: resolved.downloadedFile, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
