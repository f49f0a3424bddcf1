#!/usr/bin/env node
/**
 * ortserve-workflow-archiver: torch-workflow-archiver's command line (spec §11) on top of
 * createWorkflowArchive. `--workflow-name` and `--spec-file` are required; `--handler` (the workflow's
 * TypeScript/JavaScript functions), `--extra-files`, `--export-path` (default: the working directory) and
 * `-f/--force` are optional. Usage errors exit 2 (argparse), archiver errors print "ERROR - <message>" and
 * exit 1, success exits 0 and writes `<export-path>/<workflow-name>.war`.
 */
import { ArchiverError } from '../archive/writer.js';
import { createWorkflowArchive } from '../workflows/writer.js';
import { runIfEntryPoint } from './entry-point.js';

const PROG = 'ortserve-workflow-archiver';

interface Option {
  long: string;
  short?: string;
  dest: string;
  flag?: boolean;
  required?: boolean;
  metavar?: string;
  help: string;
}

const OPTIONS: readonly Option[] = [
  { long: '--help', short: '-h', dest: 'help', flag: true, help: 'show this help message and exit' },
  { long: '--workflow-name', dest: 'workflowName', required: true, metavar: 'WORKFLOW_NAME', help: 'Exported workflow name. Exported file will be named as workflow-name.war and saved in\ncurrent working directory if no --export-path is specified, else it will be saved under the\nexport path' },
  { long: '--spec-file', dest: 'specFile', required: true, metavar: 'SPEC_FILE', help: 'Path to .yaml file containing workflow DAG specification.' },
  { long: '--handler', dest: 'handler', metavar: 'HANDLER', help: "Path to the TypeScript or JavaScript file containing the workflow's\npre-process and post-process functions." },
  { long: '--export-path', dest: 'exportPath', metavar: 'EXPORT_PATH', help: 'Path where the exported .war file will be saved. This is an optional parameter. If\n--export-path is not specified, the file will be saved in the current working directory. ' },
  { long: '--extra-files', dest: 'extraFiles', metavar: 'EXTRA_FILES', help: 'Comma separated path to extra dependency files.' },
  { long: '--force', short: '-f', dest: 'force', flag: true, help: 'When the -f or --force flag is specified, an existing .war file with same name as that\nprovided in --workflow-name in the path specified by --export-path will be overwritten' },
];

export interface WorkflowArchiverIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: WorkflowArchiverIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

class UsageError extends Error {}

function usage(): string {
  const parts = OPTIONS.map((o) => {
    const text = `${o.short ?? o.long}${o.flag ? '' : ` ${o.metavar}`}`;
    return o.required ? text : `[${text}]`;
  });
  return `usage: ${PROG} ${parts.join(' ')}\n`;
}

function help(): string {
  const body = OPTIONS.map((o) => {
    const names = [o.short, o.long].filter((n): n is string => n !== undefined).map((n) => (o.flag ? n : `${n} ${o.metavar}`));
    return `  ${names.join(', ')}\n${o.help.split('\n').map((l) => `                        ${l}`).join('\n')}`;
  });
  return `${usage()}\nTorch Workflow Archiver Tool (ortserve)\n\noptions:\n${body.join('\n')}\n`;
}

const optionName = (o: Option): string => (o.short ? `${o.short}/${o.long}` : o.long);

function find(name: string): Option {
  const exact = OPTIONS.find((o) => o.long === name || o.short === name);
  if (exact) return exact;
  const prefixed = name.startsWith('--') ? OPTIONS.filter((o) => o.long.startsWith(name)) : [];
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw new UsageError(`ambiguous option: ${name} could match ${prefixed.map((o) => o.long).join(', ')}`);
  throw new UsageError(`unrecognized arguments: ${name}`);
}

function parse(argv: readonly string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  const extras: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      extras.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const o = find(eq >= 0 ? arg.slice(0, eq) : arg);
    if (o.flag) {
      out[o.dest] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('-') && value !== '-')) throw new UsageError(`argument ${optionName(o)}: expected one argument`);
    out[o.dest] = value;
  }
  if (out.help === true) return out;
  const missing = OPTIONS.filter((o) => o.required && out[o.dest] === undefined).map(optionName);
  if (missing.length > 0) throw new UsageError(`the following arguments are required: ${missing.join(', ')}`);
  if (extras.length > 0) throw new UsageError(`unrecognized arguments: ${extras.join(' ')}`);
  return out;
}

/** Runs the workflow archiver with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: WorkflowArchiverIo = defaultIo): Promise<number> {
  let args: Record<string, string | boolean>;
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${usage()}${PROG}: error: ${err.message}\n`);
    return 2;
  }
  if (args.help === true) {
    io.out(help());
    return 0;
  }
  const s = (k: string): string | undefined => (typeof args[k] === 'string' ? (args[k] as string) : undefined);
  try {
    await createWorkflowArchive({
      workflowName: s('workflowName')!,
      specFile: s('specFile')!,
      handler: s('handler'),
      extraFiles: s('extraFiles'),
      exportPath: s('exportPath') ?? process.cwd(),
      force: args.force === true,
      onWarning: (m) => io.err(`WARNING - ${m}\n`),
    });
    return 0;
  } catch (err) {
    io.err(`ERROR - ${err instanceof ArchiverError || err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

runIfEntryPoint(import.meta.url, main);
