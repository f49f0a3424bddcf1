#!/usr/bin/env node
/**
 * ortserve-archiver: torch-model-archiver's command line (spec §6.3) on top of createArchive. The flags,
 * the usage errors and the exit codes follow Python's argparse (2 for usage errors, 0 for --help) and
 * torch-model-archiver (1 for its own errors, printed as "ERROR - <message>").
 */
import { ARCHIVE_FORMATS, ARCHIVE_RUNTIMES, ArchiverError, createArchive, type ArchiveFormat } from '../archive/writer.js';
import { ArgParser, str, UsageError, type OptionSpec, type Parsed } from './argparse.js';
import { runIfEntryPoint } from './entry-point.js';

const PROG = 'ortserve-archiver';

/** In torch-model-archiver's definition order, which argparse keeps in usage and error messages. */
const OPTIONS: readonly OptionSpec[] = [
  { long: '--model-name', dest: 'modelName', metavar: 'MODEL_NAME', required: true, help: 'Exported model name. Exported file will be named as\nmodel-name.mar and saved in current working directory if no --export-path is\nspecified, else it will be saved under the export path' },
  { long: '--serialized-file', dest: 'serializedFile', metavar: 'SERIALIZED_FILE', help: 'Path to the model weights: a .onnx file for ortserve\n(.pt/.pth for TorchServe).' },
  { long: '--model-file', dest: 'modelFile', metavar: 'MODEL_FILE', help: 'Path to a file containing the model architecture (eager-mode models).' },
  { long: '--handler', dest: 'handler', metavar: 'HANDLER', required: true, help: "A built-in handler name or the path of a handler file\n(file[:function])." },
  { long: '--extra-files', dest: 'extraFiles', metavar: 'EXTRA_FILES', help: 'Comma separated path to extra dependency files.' },
  { long: '--runtime', dest: 'runtime', metavar: '{python,python3,LSP}', choices: ARCHIVE_RUNTIMES, help: 'The runtime specifies which language to run your inference code on.\nThe default runtime is "python".' },
  { long: '--export-path', dest: 'exportPath', metavar: 'EXPORT_PATH', help: 'Path where the exported .mar file will be saved. This is an optional\nparameter. If --export-path is not specified, the file will be saved in the\ncurrent working directory. ' },
  { long: '--archive-format', dest: 'archiveFormat', metavar: '{tgz,no-archive,zip-store,default}', choices: ARCHIVE_FORMATS, help: 'The format in which the model artifacts are archived.\n"tgz": <model-name>.tar.gz\n"no-archive": the directory export-path/{model-name}\n"zip-store": <model-name>.mar without compression\n"default": <model-name>.mar' },
  { long: '--force', short: '-f', dest: 'force', flag: true, help: 'When the -f or --force flag is specified, an existing .mar file with same\nname as that provided in --model-name in the path specified by --export-path\nwill overwritten' },
  { long: '--version', short: '-v', dest: 'version', metavar: 'VERSION', required: true, help: "Model's version" },
  { long: '--requirements-file', short: '-r', dest: 'requirementsFile', metavar: 'REQUIREMENTS_FILE', help: 'Path to a requirements.txt containing model specific python dependency\n packages.' },
  { long: '--config-file', short: '-c', dest: 'configFile', metavar: 'CONFIG_FILE', help: 'Path to a yaml file containing model configuration eg. batch_size.' },
  { long: '--strict', dest: 'strict', flag: true, help: 'ortserve: fail (exit 1) instead of warning when the archive holds what\nortserve cannot run: a Python handler, PyTorch weights, a handler ortserve\ndoes not have, a requirements file.' },
];

const parser = new ArgParser(PROG, 'Torch Model Archiver Tool (ortserve)', OPTIONS);

export interface ArchiverIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: ArchiverIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs the archiver with `argv` (without the node and script paths); resolves to the exit code. */
export async function main(argv: string[], io: ArchiverIo = defaultIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parser.parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${parser.usage()}${PROG}: error: ${err.message}\n`);
    return 2;
  }
  if (parsed.help === true) {
    io.out(parser.help());
    return 0;
  }
  try {
    await createArchive({
      modelName: str(parsed.modelName)!,
      version: str(parsed.version)!,
      handler: str(parsed.handler)!,
      serializedFile: str(parsed.serializedFile),
      modelFile: str(parsed.modelFile),
      extraFiles: str(parsed.extraFiles),
      runtime: str(parsed.runtime),
      exportPath: str(parsed.exportPath) ?? process.cwd(),
      archiveFormat: (str(parsed.archiveFormat) as ArchiveFormat | undefined) ?? 'default',
      force: parsed.force === true,
      requirementsFile: str(parsed.requirementsFile),
      configFile: str(parsed.configFile),
      strict: parsed.strict === true,
      onWarning: (message) => io.err(`WARNING - ${message}\n`),
    });
    return 0;
  } catch (err) {
    const message = err instanceof ArchiverError ? err.message : err instanceof Error ? err.message : String(err);
    io.err(`ERROR - ${message}\n`);
    return 1;
  }
}

runIfEntryPoint(import.meta.url, main);
