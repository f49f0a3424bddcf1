#!/usr/bin/env node
/**
 * ortserve-archiver: torch-model-archiver's command line (spec §6.3) on top of createArchive. The flags,
 * the usage errors and the exit codes follow Python's argparse (2 for usage errors, 0 for --help) and
 * torch-model-archiver (1 for its own errors, printed as "ERROR - <message>").
 */
import { ARCHIVE_FORMATS, ARCHIVE_RUNTIMES, ArchiverError, createArchive, type ArchiveFormat } from '../archive/writer.js';
import { runIfEntryPoint } from './entry-point.js';

const PROG = 'ortserve-archiver';

interface OptionSpec {
  long: string;
  short?: string;
  dest: string;
  metavar?: string;
  required?: boolean;
  flag?: boolean;
  choices?: readonly string[];
  help: string;
}

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
];

const HELP_OPTION: OptionSpec = { long: '--help', short: '-h', dest: 'help', flag: true, help: 'show this help message and exit' };
const ALL_OPTIONS: readonly OptionSpec[] = [HELP_OPTION, ...OPTIONS];

export interface ArchiverIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: ArchiverIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

class UsageError extends Error {}

const optionName = (o: OptionSpec): string => (o.short ? `${o.short}/${o.long}` : o.long);

function usage(): string {
  const parts = ALL_OPTIONS.map((o) => {
    const text = `${o.short ?? o.long}${o.flag ? '' : ` ${o.metavar}`}`;
    return o.required ? text : `[${text}]`;
  });
  const lines: string[] = [];
  let line = `usage: ${PROG}`;
  for (const part of parts) {
    if (line.length + part.length + 1 > 78) {
      lines.push(line);
      line = ' '.repeat(`usage: ${PROG}`.length);
    }
    line += ` ${part}`;
  }
  lines.push(line);
  return `${lines.join('\n')}\n`;
}

function help(): string {
  const body = ALL_OPTIONS.map((o) => {
    const names = [o.short, o.long].filter((n): n is string => n !== undefined);
    const head = `  ${names.map((n) => (o.flag ? n : `${n} ${o.metavar}`)).join(', ')}`;
    const text = o.help.split('\n').map((l) => `                        ${l}`).join('\n');
    return `${head}\n${text}`;
  });
  return `${usage()}\nTorch Model Archiver Tool (ortserve)\n\noptions:\n${body.join('\n')}\n`;
}

const looksLikeOption = (arg: string): boolean => arg.startsWith('-') && arg !== '-' && !/^-\d/.test(arg);

/** argparse's long-option lookup: exact name, else a unique prefix. */
function findLong(name: string): OptionSpec {
  const exact = ALL_OPTIONS.find((o) => o.long === name);
  if (exact) return exact;
  const matches = ALL_OPTIONS.filter((o) => o.long.startsWith(name));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new UsageError(`ambiguous option: ${name} could match ${matches.map((o) => o.long).join(', ')}`);
  throw new UsageError(`unrecognized arguments: ${name}`);
}

type Parsed = Record<string, string | boolean | undefined>;

function parseArgs(argv: readonly string[]): Parsed {
  const parsed: Parsed = {};
  const extras: string[] = [];
  const setValue = (o: OptionSpec, value: string): void => {
    if (o.choices && !o.choices.includes(value)) {
      throw new UsageError(`argument ${optionName(o)}: invalid choice: '${value}' (choose from ${o.choices.map((c) => `'${c}'`).join(', ')})`);
    }
    parsed[o.dest] = value;
  };
  const takeValue = (o: OptionSpec, i: number): string => {
    const next = argv[i];
    if (next === undefined || looksLikeOption(next)) throw new UsageError(`argument ${optionName(o)}: expected one argument`);
    return next;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      extras.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const o = findLong(eq >= 0 ? arg.slice(0, eq) : arg);
      if (o.flag) {
        if (eq >= 0) throw new UsageError(`argument ${optionName(o)}: ignored explicit argument '${arg.slice(eq + 1)}'`);
        parsed[o.dest] = true;
      } else {
        setValue(o, eq >= 0 ? arg.slice(eq + 1) : takeValue(o, ++i));
      }
    } else if (looksLikeOption(arg)) {
      // A cluster of short options: flags, then at most one option that takes the rest as its value.
      for (let j = 1; j < arg.length; j++) {
        const o = ALL_OPTIONS.find((x) => x.short === `-${arg[j]}`);
        if (!o) throw new UsageError(`unrecognized arguments: ${arg}`);
        if (o.flag) {
          parsed[o.dest] = true;
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, '');
        setValue(o, rest !== '' ? rest : takeValue(o, ++i));
        break;
      }
    } else {
      extras.push(arg);
    }
  }
  if (parsed.help === true) return parsed;
  const missing = OPTIONS.filter((o) => o.required && parsed[o.dest] === undefined).map(optionName);
  if (missing.length > 0) throw new UsageError(`the following arguments are required: ${missing.join(', ')}`);
  if (extras.length > 0) throw new UsageError(`unrecognized arguments: ${extras.join(' ')}`);
  return parsed;
}

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** Runs the archiver with `argv` (without the node and script paths); resolves to the exit code. */
export async function main(argv: string[], io: ArchiverIo = defaultIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`${usage()}${PROG}: error: ${err.message}\n`);
    return 2;
  }
  if (parsed.help === true) {
    io.out(help());
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
