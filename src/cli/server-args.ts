/** The `ortserve` command line, with torchserve's flags (spec §11). */

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
  noConfigSnapshots: boolean;
  disableTokenAuth: boolean;
  enableModelApi: boolean;
}

export class UsageError extends Error {}

const FLAGS: Record<string, keyof ServerArgs> = {
  '--start': 'start',
  '--stop': 'stop',
  '--foreground': 'foreground',
  '-v': 'version',
  '--version': 'version',
  '-h': 'help',
  '--help': 'help',
  '--ncs': 'noConfigSnapshots',
  '--no-config-snapshots': 'noConfigSnapshots',
  '--dt': 'disableTokenAuth',
  '--disable-token-auth': 'disableTokenAuth',
  '--enable-model-api': 'enableModelApi',
};

const VALUES: Record<string, 'modelStore' | 'workflowStore' | 'tsConfig' | 'logConfig'> = {
  '--model-store': 'modelStore',
  '--workflow-store': 'workflowStore',
  '--ts-config': 'tsConfig',
  '--log-config': 'logConfig',
  '--cpp-log-config': 'logConfig',
  '--plugins-path': 'logConfig',
  '--ppath': 'logConfig',
};

/** argparse-like parsing: `--flag value`, `--flag=value`, and `--models a b c` (nargs +). */
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
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.startsWith('--') && argv[i]!.includes('=') ? argv[i]!.split(/=(.*)/s) : [argv[i]!, undefined];
    const bool = FLAGS[flag!];
    if (bool) {
      (args[bool] as boolean) = true;
      continue;
    }
    const key = VALUES[flag!];
    if (key) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`argument ${flag}: expected one argument`);
      if (flag === '--plugins-path' || flag === '--ppath' || flag === '--cpp-log-config') continue;
      args[key] = value;
      continue;
    }
    if (flag === '--models') {
      const models = inline !== undefined ? [inline] : [];
      while (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) models.push(argv[++i]!);
      if (models.length === 0) throw new UsageError('argument --models: expected at least one argument');
      args.models = [...(args.models ?? []), ...models];
      continue;
    }
    throw new UsageError(`unrecognized arguments: ${argv[i]}`);
  }
  return args;
}

export const USAGE = `usage: ortserve [-h] [-v | --start | --stop] [--ts-config TS_CONFIG] [--model-store MODEL_STORE]
                [--workflow-store WORKFLOW_STORE] [--models MODEL_PATH1 MODEL_NAME=MODEL_PATH2... [MODEL_PATH1 MODEL_NAME=MODEL_PATH2... ...]]
                [--log-config LOG_CONFIG] [--foreground] [--no-config-snapshots] [--disable-token-auth] [--enable-model-api]

ortserve: a TorchServe-compatible model server for ONNX models

options:
  -h, --help            show this help message and exit
  -v, --version         Return ortserve version
  --start               Start the model-server
  --stop                Stop the model-server
  --ts-config TS_CONFIG Configuration file for model server
  --model-store MODEL_STORE
                        Model store location from where local or default models can be loaded
  --models MODEL_PATH1 MODEL_NAME=MODEL_PATH2... [...]
                        Models to be loaded using [model_name=]model_location format. Location can be a
                        model-store name, a directory, or a URL allowed by allowed_urls; "all" loads every
                        archive in the model store
  --foreground          Run the model server in foreground. If this option is disabled, the model server
                        will run in the background.
  --no-config-snapshots, --ncs
                        Prevents the server from storing config snapshot files.
  --disable-token-auth, --dt
                        Disable token authorization
  --enable-model-api    Enable model registration and unregistration through the management API
`;
