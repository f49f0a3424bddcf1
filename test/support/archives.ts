/** Real `.mar` files for server tests: a zip with MAR-INF/MANIFEST.json and the files at the root. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';

/** The fixture handler sources live in the source tree (the server compiles them, as it does user handlers). */
export const FIXTURE_HANDLERS = fileURLToPath(new URL('../../../test/fixtures/handlers/', import.meta.url));

export interface MarOptions {
  name: string;
  version?: string;
  handler: string;
  serializedFile?: string;
  /** model-config.yaml content. */
  yaml?: string;
  /** Files placed at the archive root. */
  files?: Record<string, Buffer | string>;
  /** Output file name in the model store (default `<name>.mar`). */
  fileName?: string;
  /** Write an unpacked directory instead of a zip. */
  directory?: boolean;
}

export function manifestJson(o: MarOptions): string {
  const model: Record<string, string> = { modelName: o.name, handler: o.handler, modelVersion: o.version ?? '1.0' };
  if (o.serializedFile) model.serializedFile = o.serializedFile;
  if (o.yaml !== undefined) model.configFile = 'model-config.yaml';
  return JSON.stringify({ createdOn: '01/01/2026 00:00:00', runtime: 'python', model, archiverVersion: '0.12.0' }, null, 2);
}

/** Writes the archive into `modelStore` and returns its file (or directory) name. */
export function writeMar(modelStore: string, o: MarOptions): string {
  const files: Record<string, Buffer | string> = { ...o.files, 'MAR-INF/MANIFEST.json': manifestJson(o) };
  if (o.yaml !== undefined) files['model-config.yaml'] = o.yaml;
  const fileName = o.fileName ?? (o.directory ? o.name : `${o.name}.mar`);
  const target = path.join(modelStore, fileName);
  if (o.directory) {
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(target, name)), { recursive: true });
      writeFileSync(path.join(target, name), data);
    }
    return fileName;
  }
  const zip = new AdmZip();
  for (const [name, data] of Object.entries(files)) zip.addFile(name, Buffer.isBuffer(data) ? data : Buffer.from(data));
  zip.writeZip(target);
  return fileName;
}

/** An archive whose handler is the fixture `test/fixtures/handlers/<fixture>` (copied into the archive). */
export function writeFixtureMar(modelStore: string, fixture: string, name: string, yaml?: string): string {
  return writeMar(modelStore, {
    name,
    handler: fixture,
    files: { [fixture]: readFileSync(path.join(FIXTURE_HANDLERS, fixture)) },
    ...(yaml === undefined ? {} : { yaml }),
  });
}

/** An archive whose handler is test/fixtures/handlers/probe.ts (see that file for its actions). */
export function writeProbeMar(modelStore: string, o: Partial<MarOptions> & { name: string }): string {
  return writeMar(modelStore, {
    handler: 'probe.ts',
    ...o,
    files: { 'probe.ts': readFileSync(path.join(FIXTURE_HANDLERS, 'probe.ts')), ...o.files },
  });
}
