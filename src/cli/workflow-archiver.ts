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
import { ArgParser, str, UsageError, type OptionSpec, type Parsed } from './argparse.js';
import { runIfEntryPoint } from './entry-point.js';

const PROG = 'ortserve-workflow-archiver';

const OPTIONS: readonly OptionSpec[] = [
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

const parser = new ArgParser(PROG, 'Torch Workflow Archiver Tool (ortserve)', OPTIONS);

/** Runs the workflow archiver with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: WorkflowArchiverIo = defaultIo): Promise<number> {
  let args: Parsed;
  try {
    args = parser.parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${parser.usage()}${PROG}: error: ${err.message}\n`);
    return 2;
  }
  if (args.help === true) {
    io.out(parser.help());
    return 0;
  }
  const s = (k: string): string | undefined => str(args[k]);
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
