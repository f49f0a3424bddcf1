#!/usr/bin/env node
/**
 * The container's ENTRYPOINT. It takes torchserve's flags (spec §11) so that a `docker run pytorch/torchserve
 * … torchserve --start --ts-config … --models …` line keeps working with `torchserve` → nothing:
 *
 *   (no arguments) | serve              the default: every archive in the model store
 *   [torchserve|ortserve] --start …     torchserve's flags, passed to ortserve as they are
 *   evaluate … | predict …              ortserve's client commands
 *
 * It always adds `--foreground` (a container's main process must not detach) and `--start` when missing,
 * and `--ts-config $ORTSERVE_CONFIG` (the image's /home/model-server/config.properties) unless a config is
 * given (`--ts-config` or TS_CONFIG_FILE). Then it runs ortserve's CLI in this same process, so node stays
 * PID 1 and ortserve's own SIGTERM handler drains in-flight requests and exits 0.
 *
 * test/deploy/entrypoint.test.ts runs this file outside Docker with the image's config file.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Same relative place in the image (/home/model-server/app) and in the repository. */
const cli = process.env.ORTSERVE_CLI || path.join(here, '..', 'dist', 'src', 'cli', 'ortserve.js');
const defaultConfig = process.env.ORTSERVE_CONFIG || '/home/model-server/config.properties';

/** torchserve's argv → ortserve's; exported for the tests. */
export function containerArgs(argv, env = process.env) {
  let args = [...argv];
  if (args[0] === 'torchserve' || args[0] === 'ortserve') args = args.slice(1);
  if (args[0] === 'serve') args = args.slice(1);
  if (args[0] === 'evaluate' || args[0] === 'predict') return args;
  const has = (...names) => args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
  if (has('--stop', '-v', '--version', '-h', '--help')) return args;
  if (!has('--start')) args.unshift('--start');
  if (!has('--foreground')) args.push('--foreground');
  if (!has('--ts-config') && !env.TS_CONFIG_FILE) args.push('--ts-config', defaultConfig);
  return args;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = containerArgs(process.argv.slice(2));
  console.log(`ortserve ${args.join(' ')}`);
  process.argv = [process.argv[0], cli, ...args];
  await import(pathToFileURL(cli).href);
}
