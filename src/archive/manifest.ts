/**
 * MAR-INF/MANIFEST.json: reading, validation, and the model name/version rules the server applies.
 *
 * TorchServe parses the manifest with Gson into a Java bean (spec §2.1 step 5), so the behaviour here
 * copies Gson's: unknown keys are ignored, a missing `runtime` or `model` falls back to the bean's
 * defaults, an unknown runtime becomes null ("Runtime is not defined or invalid."), and a value of the
 * wrong shape is a parse failure.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { nameLengthProblem } from '../config/limits.js';
import { InvalidModelException } from '../errors.js';
import type { Manifest, ManifestModel } from './types.js';

export const MANIFEST_PATH = 'MAR-INF/MANIFEST.json';

/** Runtimes TorchServe accepts; ortserve runs all of them the same way (the handler in a worker thread). */
export const SUPPORTED_RUNTIMES: readonly string[] = ['python', 'python3', 'LSP'];

/** torch-model-archiver's model-name filter (`check_model_name_regex_or_exit`). */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/;

const PARSE_FAILURE = 'Failed to parse signature.json.';

const MODEL_STRING_KEYS: ReadonlyArray<keyof ManifestModel> = [
  'modelName',
  'modelVersion',
  'version',
  'serializedFile',
  'handler',
  'modelFile',
  'requirementsFile',
  'configFile',
  'description',
  'envelope',
];

/** The manifest TorchServe assumes when an archive has none. */
export function emptyManifest(): Manifest {
  return { runtime: 'python', model: {} };
}

/**
 * Gson turns JSON numbers and booleans into Java Strings for String fields, and fails on objects and
 * arrays. JSON.parse has already lost the number's spelling, so `1.0` becomes "1" here, not "1.0".
 */
function stringField(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new InvalidModelException(`${PARSE_FAILURE} "${key}" must be a string.`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses the text of MANIFEST.json. Throws InvalidModelException for every problem TorchServe reports. */
export function parseManifest(text: string): Manifest {
  let doc: unknown;
  try {
    // A UTF-8 byte order mark is legal in files written on Windows; Gson's reader skips it too.
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new InvalidModelException(`${PARSE_FAILURE} ${(err as Error).message}`);
  }
  // Gson maps a JSON `null` document to a null Manifest, which TorchServe then dereferences; treating
  // it as a parse failure gives the same 400 with a useful message.
  if (!isPlainObject(doc)) {
    throw new InvalidModelException(`${PARSE_FAILURE} The manifest must be a JSON object.`);
  }

  const manifest: Manifest = emptyManifest();
  if ('runtime' in doc) {
    const runtime = doc.runtime;
    if (typeof runtime !== 'string' || !SUPPORTED_RUNTIMES.includes(runtime)) {
      throw new InvalidModelException('Runtime is not defined or invalid.');
    }
    manifest.runtime = runtime;
  }
  if ('model' in doc) {
    const model = doc.model;
    if (model === null) throw new InvalidModelException('Missing Model entry in manifest file.');
    if (!isPlainObject(model)) throw new InvalidModelException(`${PARSE_FAILURE} "model" must be an object.`);
    for (const key of MODEL_STRING_KEYS) {
      const value = stringField(model[key], `model.${key}`);
      if (value !== undefined) manifest.model[key] = value;
    }
  }
  for (const key of ['createdOn', 'archiverVersion', 'description'] as const) {
    const value = stringField(doc[key], key);
    if (value !== undefined) manifest[key] = value;
  }
  return manifest;
}

/**
 * Resolves a file named in the manifest inside the model directory. Names that would leave it (absolute
 * paths, `..`) are refused: the manifest is untrusted input and these paths are later opened by handlers.
 */
export function resolveArchiveFile(modelDir: string, name: string, what: string): string {
  const root = path.resolve(modelDir);
  const target = path.resolve(root, name);
  if (name === '' || name.includes('\0') || path.isAbsolute(name) || !target.startsWith(root + path.sep)) {
    throw new InvalidModelException(`${what} "${name}" named in ${MANIFEST_PATH} is not a file inside the archive.`);
  }
  return target;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads `<modelDir>/MAR-INF/MANIFEST.json` (an empty manifest when the file is missing, as TorchServe
 * does) and checks that a `serializedFile` it names is present. TorchServe only notices a missing
 * serialized file when the worker fails to load it; failing registration with a clear 400 is kinder.
 */
export async function readManifest(modelDir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await fs.readFile(path.join(modelDir, MANIFEST_PATH), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
    throw new InvalidModelException(`${PARSE_FAILURE} ${(err as Error).message}`);
  }
  const manifest = parseManifest(text);
  const serialized = manifest.model.serializedFile;
  if (serialized !== undefined) {
    const file = resolveArchiveFile(modelDir, serialized, 'Serialized file');
    if (!(await isFile(file))) {
      throw new InvalidModelException(`Serialized file "${serialized}" named in ${MANIFEST_PATH} is missing from the archive.`);
    }
  }
  return manifest;
}

/** True when `name` passes torch-model-archiver's model-name filter. */
export function isValidModelName(name: string): boolean {
  return MODEL_NAME_PATTERN.test(name);
}

/**
 * The server's check for a model name (from the request or the manifest). Names become URL segments,
 * metric labels and snapshot keys, so the archiver's filter is enforced on the server too.
 */
export function validateModelName(name: string | undefined): asserts name is string {
  if (name === undefined || name === '') throw new InvalidModelException('Model name is not defined.');
  const tooLong = nameLengthProblem('Model name', name);
  if (tooLong !== null) throw new InvalidModelException(tooLong);
  if (!isValidModelName(name)) {
    throw new InvalidModelException(
      `Model name contains special characters. The allowed regular expression filter for model name is: ${MODEL_NAME_PATTERN.source}`,
    );
  }
}

/**
 * The server's check for a model version. TorchServe accepts any string, but versions end up in file
 * names (snapshots) and URL paths, so path characters and control characters are refused.
 */
export function validateModelVersion(version: string | undefined): asserts version is string {
  if (version === undefined || version === '') throw new InvalidModelException('Model version is not defined.');
  const tooLong = nameLengthProblem('Model version', version);
  if (tooLong !== null) throw new InvalidModelException(tooLong);
  // eslint-disable-next-line no-control-regex
  if (/[/\\\x00-\x1f\x7f]/.test(version) || version === '.' || version === '..') {
    throw new InvalidModelException(`Invalid model version: ${JSON.stringify(version)}. A version may not contain "/", "\\" or control characters.`);
  }
}
