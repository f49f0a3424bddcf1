/**
 * WAR-INF/MANIFEST.json of a workflow archive (spec §10): `{"createdOn", "workflow": {"workflowName",
 * "specFile", "handler"}, "archiverVersion"}`, read and validated as TorchServe's WorkflowArchive does.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidWorkflowException } from './errors.js';

export const WAR_MANIFEST_PATH = 'WAR-INF/MANIFEST.json';
/** torch-workflow-archiver's version in the TorchServe 0.12 release line. */
export const WORKFLOW_ARCHIVER_VERSION = '0.2.15';

export interface WorkflowManifestEntry {
  workflowName?: string;
  specFile?: string;
  handler?: string;
}

export interface WorkflowManifest {
  createdOn?: string;
  workflow?: WorkflowManifestEntry;
  archiverVersion?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The manifest (an empty one when the file is missing, as TorchServe). */
export async function readWorkflowManifest(dir: string): Promise<WorkflowManifest> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, WAR_MANIFEST_PATH), 'utf8');
  } catch {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidWorkflowException(`Failed to parse ${WAR_MANIFEST_PATH}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidWorkflowException(`Failed to parse ${WAR_MANIFEST_PATH}: it must be a JSON object.`);
  }
  const o = parsed as Record<string, unknown>;
  const w = o.workflow;
  const manifest: WorkflowManifest = { createdOn: str(o.createdOn), archiverVersion: str(o.archiverVersion) };
  if (typeof w === 'object' && w !== null && !Array.isArray(w)) {
    const e = w as Record<string, unknown>;
    manifest.workflow = { workflowName: str(e.workflowName), specFile: str(e.specFile), handler: str(e.handler) };
  }
  return manifest;
}

/** WorkflowArchive.validate(), after the `workflow_name` parameter has replaced the manifest's name. */
export function validateWorkflowManifest(m: WorkflowManifest): asserts m is WorkflowManifest & { workflow: WorkflowManifestEntry & { workflowName: string } } {
  if (!m.workflow) throw new InvalidWorkflowException('Missing Workflow entry in manifest file.');
  if (!m.workflow.workflowName) throw new InvalidWorkflowException('Workflow name is not defined.');
  if (m.archiverVersion === undefined) throw new InvalidWorkflowException('Workflow archive version is not defined.');
  if (m.createdOn === undefined) throw new InvalidWorkflowException('Workflow archive createdOn is not defined.');
}
