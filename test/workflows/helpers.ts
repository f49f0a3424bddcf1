/** Workflow archives for tests, written with the workflow archiver's own code. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorkflowArchive } from '../../src/workflows/writer.js';

/** Writes `<store>/<name>.war` from a spec text and an optional handler source; returns the file name. */
export async function writeWar(store: string, name: string, spec: string, handler?: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-war-'));
  try {
    writeFileSync(path.join(dir, 'spec.yaml'), spec);
    if (handler !== undefined) writeFileSync(path.join(dir, 'handler.ts'), handler);
    await createWorkflowArchive({
      workflowName: name,
      specFile: path.join(dir, 'spec.yaml'),
      handler: handler === undefined ? null : path.join(dir, 'handler.ts'),
      exportPath: store,
      force: true,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return `${name}.war`;
}

/** fetch with a token; the answer's status, parsed JSON (or text) and headers. */
export async function call(
  url: string,
  auth: Record<string, string>,
  init: RequestInit = {},
): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const r = await fetch(url, { ...init, headers: { ...auth, ...(init.headers as Record<string, string> | undefined) } });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain text
  }
  return { status: r.status, body, text, headers: r.headers };
}
