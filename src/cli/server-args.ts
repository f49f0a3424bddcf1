/**
 * The `ortserve` command line, with torchserve's flags (spec §11), parsed the way Python's argparse
 * parses `ts/arg_parser.py`: unique prefixes of long options are accepted (`--fore`), `--flag=value`
 * works for options with a value, a repeated option keeps its last value, `-v`, `--start` and
 * `--stop` exclude each other, and unknown arguments are all reported at once.
 */

export interface ServerArgs {
  start: boolean;
  stop: boolean;
  foreground: boolean;
  version: boolean;
  help: boolean;
  modelStore?: string;
  workflowStore?: string;
  models?: string[];
  tsConfig?: string;
  logConfig?: string;
  cppLogConfig?: string;
  pluginsPath?: string;
  /** ortserve's own: the pid file of this server (default: the global one, as torchserve's). */
  pidFile?: string;
  noConfigSnapshots: boolean;
  disableTokenAuth: boolean;
  enableModelApi: boolean;
}

/** An argparse error: the CLI prints the usage and `ortserve: error: <message>` and exits 2. */
export class UsageError extends Error {}

type FlagKey = 'start' | 'stop' | 'foreground' | 'version' | 'help' | 'noConfigSnapshots' | 'disableTokenAuth' | 'enableModelApi';
type ValueKey = 'modelStore' | 'workflowStore' | 'tsConfig' | 'logConfig' | 'cppLogConfig' | 'pluginsPath' | 'pidFile';

interface OptionSpec {
  /** Every spelling, as argparse lists them in messages (`-v/--version`). */
  names: string[];
  kind: 'flag' | 'value' | 'list';
  key: FlagKey | ValueKey | 'models';
}

const OPTIONS: OptionSpec[] = [
  { names: ['-h', '--help'], kind: 'flag', key: 'help' },
  { names: ['-v', '--version'], kind: 'flag', key: 'version' },
  { names: ['--start'], kind: 'flag', key: 'start' },
  { names: ['--stop'], kind: 'flag', key: 'stop' },
  { names: ['--ts-config'], kind: 'value', key: 'tsConfig' },
  { names: ['--model-store'], kind: 'value', key: 'modelStore' },
  { names: ['--workflow-store'], kind: 'value', key: 'workflowStore' },
  { names: ['--models'], kind: 'list', key: 'models' },
  { names: ['--log-config'], kind: 'value', key: 'logConfig' },
  { names: ['--cpp-log-config'], kind: 'value', key: 'cppLogConfig' },
  { names: ['--foreground'], kind: 'flag', key: 'foreground' },
  { names: ['--no-config-snapshots', '--ncs'], kind: 'flag', key: 'noConfigSnapshots' },
  { names: ['--plugins-path', '--ppath'], kind: 'value', key: 'pluginsPath' },
  { names: ['--disable-token-auth', '--dt'], kind: 'flag', key: 'disableTokenAuth' },
  { names: ['--enable-model-api'], kind: 'flag', key: 'enableModelApi' },
  { names: ['--pid-file'], kind: 'value', key: 'pidFile' },
];

/** The mutually exclusive group of ts/arg_parser.py. */
const EXCLUSIVE: ReadonlySet<string> = new Set(['version', 'start', 'stop']);

const displayName = (o: OptionSpec): string => o.names.join('/');

/** argparse's idea of "looks like an option": starts with `-`, is not `-` alone, and is not a negative number. */
function looksLikeOption(arg: string): boolean {
  return arg.startsWith('-') && arg !== '-' && !/^-\d+$|^-\d*\.\d+$/.test(arg);
}

/** Exact spelling, else a unique prefix of a long option (argparse's allow_abbrev). */
function findOption(flag: string): OptionSpec | null {
  const exact = OPTIONS.find((o) => o.names.includes(flag));
  if (exact) return exact;
  if (!flag.startsWith('--')) return null;
  const matches: Array<[OptionSpec, string]> = [];
  for (const o of OPTIONS) for (const n of o.names) if (n.startsWith('--') && n.startsWith(flag)) matches.push([o, n]);
  if (matches.length === 0) return null;
  if (new Set(matches.map(([o]) => o)).size > 1) {
    throw new UsageError(`ambiguous option: ${flag} could match ${matches.map(([, n]) => n).join(', ')}`);
  }
  return matches[0]![0];
}

export function parseServerArgs(argv: string[]): ServerArgs {
  const args: ServerArgs = {
    start: false,
    stop: false,
    foreground: false,
    version: false,
    help: false,
    noConfigSnapshots: false,
    disableTokenAuth: false,
    enableModelApi: false,
  };
  const unrecognized: string[] = [];
  let exclusiveSeen: OptionSpec | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!looksLikeOption(arg)) {
      unrecognized.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const option = findOption(flag);
    if (!option) {
      unrecognized.push(arg);
      continue;
    }
    if (option.kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`argument ${displayName(option)}: ignored explicit argument '${inline}'`);
      if (option.key === 'help') {
        // argparse prints the help as soon as it meets -h, whatever follows.
        args.help = true;
        return args;
      }
      if (EXCLUSIVE.has(option.key)) {
        if (exclusiveSeen && exclusiveSeen !== option) {
          throw new UsageError(`argument ${displayName(option)}: not allowed with argument ${displayName(exclusiveSeen)}`);
        }
        exclusiveSeen = option;
      }
      args[option.key as FlagKey] = true;
      continue;
    }
    if (option.kind === 'value') {
      let value = inline;
      if (value === undefined) {
        const next = argv[i + 1];
        if (next === undefined || looksLikeOption(next)) throw new UsageError(`argument ${displayName(option)}: expected one argument`);
        value = next;
        i++;
      }
      args[option.key as ValueKey] = value;
      continue;
    }
    // nargs='+': `--models=a` takes just `a`; otherwise every following argument up to the next option.
    const models: string[] = [];
    if (inline !== undefined) models.push(inline);
    else while (argv[i + 1] !== undefined && !looksLikeOption(argv[i + 1]!)) models.push(argv[++i]!);
    if (models.length === 0) throw new UsageError(`argument ${displayName(option)}: expected at least one argument`);
    args.models = models;
  }
  if (unrecognized.length > 0) throw new UsageError(`unrecognized arguments: ${unrecognized.join(' ')}`);
  return args;
}

export const USAGE_LINE = `usage: ortserve [-h] [-v | --start | --stop] [--ts-config TS_CONFIG] [--model-store MODEL_STORE]
                [--workflow-store WORKFLOW_STORE]
                [--models MODEL_PATH1 MODEL_NAME=MODEL_PATH2... [MODEL_PATH1 MODEL_NAME=MODEL_PATH2... ...]]
                [--log-config LOG_CONFIG] [--cpp-log-config CPP_LOG_CONFIG] [--foreground]
                [--no-config-snapshots] [--plugins-path PLUGINS_PATH] [--disable-token-auth]
                [--enable-model-api] [--pid-file PID_FILE]`;

export const USAGE = `${USAGE_LINE}

ortserve: a TorchServe-compatible model server for ONNX models

options:
  -h, --help            show this help message and exit
  -v, --version         Return ortserve Version
  --start               Start the model-server
  --stop                Stop the model-server
  --ts-config TS_CONFIG
                        Configuration file for model server
  --model-store MODEL_STORE
                        Model store location from where local or default models can be loaded
  --workflow-store WORKFLOW_STORE
                        Workflow store location from where local or default workflows can be loaded
  --models MODEL_PATH1 MODEL_NAME=MODEL_PATH2... [MODEL_PATH1 MODEL_NAME=MODEL_PATH2... ...]
                        Models to be loaded using [model_name=]model_location format. Location can be a
                        model archive file or directory in MODEL_STORE, or a URL allowed by allowed_urls;
                        "all" loads every archive in the model store
  --log-config LOG_CONFIG
                        Accepted for compatibility (log4j configuration); must exist, otherwise ignored
  --cpp-log-config CPP_LOG_CONFIG
                        Accepted for compatibility; ignored
  --foreground          Run the model server in foreground. If this option is disabled, the model server
                        will run in the background.
  --no-config-snapshots, --ncs
                        Prevents the server from storing config snapshot files.
  --plugins-path PLUGINS_PATH, --ppath PLUGINS_PATH
                        Accepted for compatibility (plugin jars); ignored
  --disable-token-auth, --dt
                        Disable token authorization
  --enable-model-api    Enable model registration and unregistration through the management API
  --pid-file PID_FILE   ortserve only: the pid file of this server, for --start and --stop (default
                        $TMPDIR/.ortserve.pid, one server per host); lets several servers run on one host
`;
