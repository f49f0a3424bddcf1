/**
 * The names a workflow handler file exports, read from esbuild's metafile without running the file, so
 * that a DAG node that is neither a model nor a handler function is refused before anything is registered.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { InvalidWorkflowException } from './errors.js';

export async function handlerExports(dir: string, handler: string): Promise<Set<string>> {
  if (handler.endsWith('.py')) {
    throw new InvalidWorkflowException(`Python handlers are not supported by ortserve: ${handler}. Write the workflow handler in TypeScript or JavaScript.`);
  }
  try {
    const result = await build({
      entryPoints: [path.join(dir, handler)],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
      absWorkingDir: dir,
      outdir: path.join(dir, '.exports'),
      // Only the entry's own export list matters: packages stay outside.
      plugins: [{ name: 'external-packages', setup: (b) => b.onResolve({ filter: /^[^./]/ }, (a) => ({ path: a.path, external: true })) }],
    });
    const out = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
    return new Set(out?.exports ?? []);
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n').slice(0, 6).join('\n') : String(err);
    throw new InvalidWorkflowException(`Workflow handler ${handler} does not compile: ${detail}`);
  }
}
