/**
 * What `ortserve evaluate` and `ortserve predict` share: the options (server, key, models, which text,
 * how many requests at once), parsed with node:util parseArgs, and how errors become exit codes
 * (0 ok, 1 server or I/O failure, 2 usage error).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BatchAbortedError } from '../client/batch-classify.js';
import { ConnectionError, InferenceClient, ServerError } from '../client/inference-client.js';
import { parseFieldPath } from '../client/answer-field.js';
import { KeyFileError, resolveInferenceToken } from '../client/token.js';
import { DataError } from './dataset.js';
import { OutDirTakenError } from './out-dir.js';
import { RouteError } from './routing.js';
import { ColumnError, parseWhere, type RowFilter } from './row-select.js';

/** A wrong command line: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  model: { type: 'string', short: 'm', multiple: true },
  url: { type: 'string' },
  token: { type: 'string' },
  'key-file': { type: 'string' },
  'text-columns': { type: 'string' },
  field: { type: 'string' },
  where: { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  retries: { type: 'string' },
  timeout: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `server and data options:
  -m, --model NAME[/VERSION]  a model to query; repeat for several (required)
  --url URL                   the inference address (default ${DEFAULT_URL})
  --token KEY                 the inference key
  --key-file FILE             read the inference key from this key_file.json (default ./key_file.json
                              when it exists; no key is sent otherwise)
  --text-columns A,B          the columns sent as text, joined with ". " (default: "text" when the file
                              has it, else "title,description")
  --field PATH                for models that answer a JSON object (like events): the field, or dotted
                              path, holding the label list (e.g. taxonomy); label lists answered
                              directly are used as they are
  --where COLUMN=VALUE        keep only rows whose COLUMN equals VALUE; repeat to combine (all must hold)
  --concurrency N             requests in flight at once (default 4)
  --retries N                 retries of a request answered 503 or whose connection failed, with
                              exponential back-off (default 5)
  --timeout SECONDS           give up on a request after this long (default 120)
  -h, --help                  show this help and exit`;

export interface CommonValues {
  model?: string[];
  url?: string;
  token?: string;
  'key-file'?: string;
  'text-columns'?: string;
  field?: string;
  where?: string[];
  concurrency?: string;
  retries?: string;
  timeout?: string;
}

export interface CommonSettings {
  url: string;
  token: string | null;
  models: string[];
  /** null: choose from the file's columns. */
  textColumns: string[] | null;
  /** `--field` split at its dots; null when not given. */
  field: string[] | null;
  where: RowFilter[];
  concurrency: number;
  retries: number;
  timeoutMs: number;
}

type CommandOptions = NonNullable<ParseArgsConfig['options']>;
export type ParsedCommand<O extends CommandOptions> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/**
 * Options whose value may begin with `-`: keys are base64url, so one in 64 starts with a dash, and
 * parseArgs refuses `--token -AbC…` as ambiguous. Their next argument is always taken as the value.
 */
const DASH_VALUE_OPTIONS: ReadonlySet<string> = new Set(['--token']);

/** `--token X` as `--token=X`, for the options above. */
export function joinDashValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (DASH_VALUE_OPTIONS.has(arg) && next !== undefined) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** parseArgs with its errors turned into UsageError. */
export function parseCommand<O extends CommandOptions>(argv: string[], options: O): ParsedCommand<O> {
  try {
    return parseArgs({ args: joinDashValues(argv), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Checks and converts the shared options; reads the key file. */
export function readCommonSettings(v: CommonValues, cwd: string): CommonSettings {
  const models = v.model ?? [];
  if (models.length === 0) throw new UsageError('at least one --model is required');
  for (const m of models) {
    if (!/^[^/\s]+(\/[^/\s]+)?$/.test(m)) throw new UsageError(`--model ${m}: expected NAME or NAME/VERSION`);
  }
  if (new Set(models).size !== models.length) throw new UsageError('a --model is given twice');
  const url = v.url ?? DEFAULT_URL;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url ${url}: expected http://host:port or https://host:port`);
  const textColumns = v['text-columns'] === undefined ? null : v['text-columns'].split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (textColumns !== null && textColumns.length === 0) throw new UsageError('--text-columns names no column');
  const field = v.field === undefined ? null : parseFieldPath(v.field);
  if (field === null && v.field !== undefined) throw new UsageError(`--field ${v.field}: expected a field name or a dotted path (a.b)`);
  const where: RowFilter[] = [];
  for (const w of v.where ?? []) {
    const filter = parseWhere(w);
    if (filter === null) throw new UsageError(`--where ${w}: expected COLUMN=VALUE`);
    where.push(filter);
  }
  const concurrency = positiveInt('--concurrency', v.concurrency, 4, 1);
  const retries = positiveInt('--retries', v.retries, 5, 0);
  const timeoutMs = positiveInt('--timeout', v.timeout, 120, 1) * 1000;
  // Last, so that usage errors are reported first: a key file that cannot be read is an I/O failure
  // (KeyFileError, exit 1), not a usage error.
  const token = resolveInferenceToken({ token: v.token, keyFile: v['key-file'], cwd });
  return {
    url,
    token,
    models,
    textColumns,
    field,
    where,
    concurrency,
    retries,
    timeoutMs,
  };
}

/** An integer option ≥ min, or its default when absent. */
export function positiveInt(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} ${value}: expected an integer of at least ${min}`);
  }
  return Number(value);
}

/** Runs a command body and turns its errors into a message on stderr and an exit code. */
export async function runCommand(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if ([UsageError, ColumnError, OutDirTakenError, RouteError].some((k) => err instanceof k)) {
      console.error(`ortserve ${name}: error: ${(err as Error).message}\nTry "ortserve ${name} --help".`);
      return 2;
    }
    const io = typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).syscall !== undefined;
    const known = [DataError, KeyFileError, BatchAbortedError, ConnectionError, ServerError].some((k) => err instanceof k);
    if (known || io) {
      console.error(`ortserve ${name}: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}

/**
 * The client of a command. The first retry is announced on stderr (once: a full queue can make every
 * request retry), so a slow run says why it is slow.
 */
export function makeClient(name: string, s: CommonSettings): InferenceClient {
  let announced = false;
  return new InferenceClient({
    baseUrl: s.url,
    token: s.token,
    retries: s.retries,
    timeoutMs: s.timeoutMs,
    maxSockets: s.concurrency,
    onRetry: (r) => {
      if (announced) return;
      announced = true;
      console.error(`ortserve ${name}: model ${r.model}: ${r.reason}; retrying with back-off (up to ${s.retries} times per request)`);
    },
  });
}
