/**
 * Turns a manifest's `handler` (`file[:function]` or a built-in name) into a module a worker can
 * import. Handler files written in TypeScript or JavaScript are compiled once per model version with
 * esbuild (a real compiler; it runs in its own process, so the HTTP thread is not blocked): relative
 * imports are bundled, `ortserve` resolves to the handler API, and other packages resolve to the ones
 * installed with ortserve.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { isOrtserveBuiltin, MIGRATION_HINT, ORTSERVE_BUILTIN_HANDLERS, type OrtserveBuiltinHandler } from '../archive/torchserve-only.js';
import { InvalidModelException } from '../errors.js';

/** The module of each handler that ships with ortserve (archive/torchserve-only.ts lists their names). */
const BUILTIN_HANDLERS: Record<OrtserveBuiltinHandler, string> = {
  text_classifier: '../handlers/text-classifier.js',
  image_classifier: '../handlers/image-classifier.js',
  object_detector: '../handlers/object-detector.js',
  image_segmenter: '../handlers/image-segmenter.js',
};

const HANDLER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const HANDLER_API = fileURLToPath(new URL('../handler-api/index.js', import.meta.url));
const TEXT_API = fileURLToPath(new URL('../handlers/text/index.js', import.meta.url));

export interface HandlerModule {
  /** Absolute path of the module to import in the worker. */
  modulePath: string;
  /** `fn` of `file.ts:fn`, or null. */
  functionName: string | null;
  builtin: boolean;
}

/**
 * A handler that cannot be loaded (unknown name, a Python file, a compile error). TorchServe loads the
 * handler only when a worker starts, so such a model still registers; its workers are what fail.
 */
export interface UnusableHandler {
  /** Why, for the server log and the worker-start failure. */
  unusable: string;
}

export type PreparedHandler = HandlerModule | UnusableHandler;

export function isUnusable(handler: PreparedHandler): handler is UnusableHandler {
  return 'unusable' in handler;
}

/** Splits `file[:function]`; a Windows-style drive colon is not a function separator here. */
export function parseHandlerSpec(spec: string): { file: string; functionName: string | null } {
  const i = spec.lastIndexOf(':');
  if (i <= 0) return { file: spec, functionName: null };
  return { file: spec.slice(0, i), functionName: spec.slice(i + 1) || null };
}

function findHandlerFile(modelDir: string, file: string): string | null {
  if (file.includes('..') || path.isAbsolute(file)) return null;
  const base = path.join(modelDir, file);
  const candidates = path.extname(file) ? [base] : HANDLER_EXTENSIONS.map((ext) => base + ext);
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

/** Keeps bare imports external, pointing at the packages installed with ortserve. */
const resolveFromOrtserve: Plugin = {
  name: 'resolve-from-ortserve',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      if (args.path === 'ortserve' || args.path === 'ortserve/handler') return { path: HANDLER_API, external: true };
      if (args.path === 'ortserve/text') return { path: TEXT_API, external: true };
      try {
        return { path: import.meta.resolve(args.path), external: true };
      } catch {
        return { errors: [{ text: `Cannot find package '${args.path}' (handlers may import ortserve's dependencies)` }] };
      }
    });
  },
};

/**
 * Finds and compiles the handler of a model version. `workDir` is a private directory of the model
 * version where the compiled module is written.
 */
export async function prepareHandler(spec: string, modelDir: string, workDir: string): Promise<HandlerModule> {
  const { file, functionName } = parseHandlerSpec(spec);
  // A TorchServe archive brought as it is: say so, whether or not the .py file is in the archive.
  if (file.endsWith('.py')) {
    throw new InvalidModelException(
      `Python handlers are not supported by ortserve: ${spec}. Write the handler in TypeScript or JavaScript, or use a built-in handler (${ORTSERVE_BUILTIN_HANDLERS.join(', ')}); ${MIGRATION_HINT}.`,
    );
  }
  const source = findHandlerFile(modelDir, file);
  if (!source) {
    const builtin = isOrtserveBuiltin(file) ? BUILTIN_HANDLERS[file] : undefined;
    if (builtin) return { modulePath: fileURLToPath(new URL(builtin, import.meta.url)), functionName, builtin: true };
    throw new InvalidModelException(
      `Handler not found: ${spec}. It is neither a file in the archive nor a built-in handler (${ORTSERVE_BUILTIN_HANDLERS.join(', ')}).`,
    );
  }
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const outfile = path.join(workDir, 'handler.mjs');
  try {
    await build({
      entryPoints: [source],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'silent',
      // Error messages name files relative to the archive, never the server's temporary directory.
      absWorkingDir: modelDir,
      plugins: [resolveFromOrtserve],
    });
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n').slice(0, 6).join('\n') : String(err);
    throw new InvalidModelException(`Handler ${file} does not compile: ${detail}`);
  }
  return { modulePath: outfile, functionName, builtin: false };
}
