/**
 * Builds the ServerConfig from config.properties, the environment and the CLI, following TorchServe's
 * `ConfigManager` constructor (spec §5): locate the file, load it, substitute `$$VAR$$`, apply the CLI,
 * then (only with `enable_envvars_config=true`) apply `TS_*` variables. Precedence: env > CLI > file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

import { parseListenAddress } from './address.js';
import { configKey, envMappings, ORTSERVE_DEFAULT_METRICS_MODE } from './defaults.js';
import { loadMetricsConfig } from '../metrics/metrics-config.js';
import { ConfigError } from './errors.js';
import { servingLimits } from './limits.js';
import { parseModelsJson } from './models-json.js';
import { parseProperties } from './properties.js';
import type { CliOverrides, ServerConfig } from './types.js';

type Env = Record<string, string | undefined>;

/** `yyyyMMddHHmmssSSS-<kind>.cfg`, the names SnapshotManager gives its files. */
const SNAPSHOT_NAME = /^(\d{17})-.*\.cfg$/;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The newest snapshot in `<logLocation>/config/`, or null. "Newest" is decided by the timestamp prefix of
 * the name, as FSSnapshotSerializer does (not by mtime). The prefix is fixed-width, so comparing it as text
 * orders it by time; ties are broken by the full name so that the choice does not depend on readdir order.
 * Files without a timestamp prefix are skipped (TorchServe would crash on them).
 */
export function findLatestSnapshot(logLocation: string): string | null {
  const dir = join(logLocation, 'config');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  let best: string | null = null;
  for (const name of names) {
    if (!SNAPSHOT_NAME.test(name) || !isFile(join(dir, name))) continue;
    if (best === null || name.slice(0, 17) > best.slice(0, 17) || (name.slice(0, 17) === best.slice(0, 17) && name > best)) {
      best = name;
    }
  }
  return best === null ? null : join(dir, best);
}

/** Spec §5 location order. An explicitly named file that does not exist is an error (ts/model_server.py). */
function locateConfigFile(cli: CliOverrides, env: Env, cwd: string, logLocation: string): string | null {
  const explicit = env['TS_CONFIG_FILE'] || cli.tsConfig;
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!isFile(path)) throw new ConfigError(`--ts-config file not found: ${explicit}`);
    return path;
  }
  if (!cli.noConfigSnapshots) {
    const snapshot = findLatestSnapshot(logLocation);
    if (snapshot !== null) return snapshot;
  }
  const local = resolve(cwd, 'config.properties');
  return isFile(local) ? local : null;
}

function readConfigFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Unable to read configuration file ${path}: ${(err as Error).message}`);
  }
  // A UTF-8 byte-order mark would otherwise become part of the first key.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  return parseProperties(text);
}

/**
 * TorchServe's pattern `\$\$([^$]+[^$])\$\$`: the name has at least two characters and no `$`, so `$$A$$`
 * is left as it is. The replacement is literal (Java's appendReplacement would misread `$` or `\` in the
 * variable's value).
 */
const ENV_REFERENCE = /\$\$([^$]+[^$])\$\$/g;

/** Replaces `$$NAME$$` in every value with env NAME; an undefined variable is a ConfigError. */
export function substituteEnvVars(props: Map<string, string>, env: Env): void {
  for (const [key, value] of props) {
    if (!value.includes('$$')) continue;
    const replaced = value.replace(ENV_REFERENCE, (_match: string, name: string) => {
      const v = env[name];
      if (v === undefined) {
        throw new ConfigError(`Invalid Environment Variable ${name} (referenced as $$${name}$$ by "${key}")`);
      }
      return v;
    });
    props.set(key, replaced);
  }
}

/** CLI flags, as ConfigManager applies them after loading the file. The CLI can only enable the two flags. */
function applyCli(props: Map<string, string>, cli: CliOverrides): void {
  if (cli.modelStore !== undefined) props.set('model_store', cli.modelStore);
  if (cli.workflowStore !== undefined) props.set('workflow_store', cli.workflowStore);
  if (cli.models !== undefined) props.set('load_models', cli.models.join(','));
  if (cli.enableModelApi) props.set('enable_model_api', 'true');
  if (cli.disableTokenAuth) props.set('disable_token_authorization', 'true');
}

/**
 * `TS_*` variables (ConfigManager.setSystemVars), only called with enable_envvars_config=true. For
 * security TS_ALLOWED_URLS counts only when the file says `use_env_allowed_urls=true`.
 */
function applyEnv(props: Map<string, string>, env: Env): void {
  const envAllowedUrls = (props.get('use_env_allowed_urls') ?? 'false').toLowerCase() === 'true';
  for (const [variable, key] of envMappings()) {
    if (key === 'allowed_urls' && !envAllowedUrls) continue;
    const value = env[variable];
    if (value !== undefined) props.set(key, value);
  }
}

/** Typed reads of the merged properties, with CONFIG_KEYS defaults. */
class Reader {
  constructor(
    private readonly props: Map<string, string>,
    readonly warnings: string[],
  ) {}

  string(key: string): string | null {
    return this.props.get(key) ?? configKey(key)?.default ?? null;
  }

  /**
   * TorchServe parses these with Integer.parseInt and dies on a bad value (getIntProperty has no
   * fallback), so a bad integer is a ConfigError. Surrounding whitespace is tolerated: Java keeps trailing
   * blanks of a properties value, which would make `job_queue_size=100 ` fatal there for no good reason.
   */
  int(key: string): number {
    const raw = this.string(key) ?? '';
    const text = raw.trim();
    const n = /^[+-]?\d+$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < -2147483648 || n > 2147483647) {
      throw new ConfigError(`Invalid integer for ${key}: "${raw}"`);
    }
    return n;
  }

  /** Boolean.parseBoolean: only "true" (any case) is true; anything but true/false also gets a warning. */
  bool(key: string): boolean {
    const raw = this.string(key) ?? 'false';
    const text = raw.trim().toLowerCase();
    if (text !== 'true' && text !== 'false') {
      this.warnings.push(`${key}="${raw}" is neither true nor false; treated as false`);
    }
    return text === 'true';
  }

  path(key: string, cwd: string): string | null {
    const v = this.string(key);
    return v === null ? null : resolve(cwd, v);
  }
}

/** `token_expiration_min` is a double; TorchServe logs an error and uses 60 when it does not parse. */
function tokenExpiration(r: Reader): number {
  const raw = r.string('token_expiration_min') ?? '60';
  const n = raw.trim() === '' ? Number.NaN : Number(raw.trim());
  if (!Number.isFinite(n)) {
    r.warnings.push(`token_expiration_min="${raw}" is not a number; using 60`);
    return 60;
  }
  return n;
}

/** TorchServe strips whitespace, upper-cases and falls back to `log` with an error for unknown modes. */
function metricsMode(r: Reader): ServerConfig['metricsMode'] {
  const raw = r.string('metrics_mode') ?? ORTSERVE_DEFAULT_METRICS_MODE;
  const mode = raw.replace(/\s/g, '').toLowerCase();
  if (mode === 'log' || mode === 'prometheus' || mode === 'legacy') return mode;
  r.warnings.push(`Configured metrics mode "${raw}" not supported; using "log"`);
  return 'log';
}

/** The three connection timeouts (ortserve's own keys): non-negative, and headers within the whole request. */
function connectionTimeouts(r: Reader): Pick<ServerConfig, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'> {
  const read = (key: string): number => {
    const n = r.int(key);
    if (n < 0) throw new ConfigError(`${key} must be 0 (no limit) or a positive number of milliseconds, not ${n}`);
    return n;
  };
  const headersTimeoutMs = read('headers_timeout_ms');
  const requestTimeoutMs = read('request_timeout_ms');
  const keepAliveTimeoutMs = read('keep_alive_timeout_ms');
  if (requestTimeoutMs > 0 && headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(
      `headers_timeout_ms (${headersTimeoutMs}) must not exceed request_timeout_ms (${requestTimeoutMs}): the headers are part of the request`,
    );
  }
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs };
}

/** The share of the memory the process may use at which max_process_rss_mb's default refuses new work. */
const DEFAULT_RSS_SHARE = 0.9;

/** The memory the process may use: the machine's, or its cgroup's limit when that is lower. */
function usableMemoryMb(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const total = totalmem();
  return Math.floor((constrained > 0 && constrained < total ? constrained : total) / (1024 * 1024));
}

/** ortserve's resource guards (issue 13): connections per listener and the process's resident set. */
function resourceGuards(r: Reader): Pick<ServerConfig, 'maxConnections' | 'maxProcessRssMb'> {
  const read = (key: string, what: string): number => {
    const n = r.int(key);
    if (n < 0) throw new ConfigError(`${key} must be 0 (no limit) or a positive number of ${what}, not ${n}`);
    return n;
  };
  const maxConnections = read('max_connections', 'connections');
  const maxProcessRssMb = r.string('max_process_rss_mb') === null ? Math.floor(usableMemoryMb() * DEFAULT_RSS_SHARE) : read('max_process_rss_mb', 'MB');
  return { maxConnections, maxProcessRssMb };
}

/** A CORS key's value goes into a response header: characters Node refuses there would fail every request. */
function headerValue(r: Reader, key: string): string | null {
  const v = r.string(key);
  if (v !== null && /[^\t\x20-\x7e\x80-\xff]/.test(v)) {
    throw new ConfigError(`${key} contains characters that are not allowed in an HTTP header value`);
  }
  return v;
}

/** Java keystores (`keystore`, `keystore_pass`, `keystore_type`): ortserve's TLS reads PEM files only. */
const KEYSTORE_KEYS = new Set(['keystore', 'keystore_pass', 'keystore_type']);

/** The warning for a key that ortserve accepts but ignores. */
function ignoredKeyWarning(key: string): string {
  if (KEYSTORE_KEYS.has(key)) {
    return (
      `${key} is ignored: ortserve cannot read Java keystores; for https:// addresses set certificate_file and ` +
      'private_key_file to PEM files (e.g. openssl pkcs12 -in keystore.p12 -nodes -nokeys -out cert.pem and ' +
      '-nocerts -out key.pem)'
    );
  }
  return `${key} is not used by ortserve and is ignored`;
}

/** ortserve's own key, so no TorchServe leniency to copy: an unknown scheduler is a configuration error. */
function batchScheduler(r: Reader): ServerConfig['batchScheduler'] {
  const raw = (r.string('batch_scheduler') ?? 'adaptive').trim().toLowerCase();
  if (raw === 'adaptive' || raw === 'torchserve') return raw;
  throw new ConfigError(`batch_scheduler must be "adaptive" or "torchserve", not "${raw}"`);
}

/** ortserve's own key: ORTSERVE_LOG_FORMAT wins over `log_format`; an unknown value is a configuration error. */
function logFormat(r: Reader, env: Env): ServerConfig['logFormat'] {
  const fromEnv = env['ORTSERVE_LOG_FORMAT'];
  const raw = (fromEnv || r.string('log_format') || 'text').trim().toLowerCase();
  if (raw === 'text' || raw === 'json') return raw;
  throw new ConfigError(`log_format must be "text" or "json", not "${raw}"${fromEnv ? ' (ORTSERVE_LOG_FORMAT)' : ''}`);
}

/**
 * allowed_urls: comma-separated regexes, each matched case-insensitively against the whole URL (Java's
 * `Pattern.matches`). A leading `(?i)`, harmless in Java but a syntax error in JavaScript, is dropped.
 */
export function compileAllowedUrls(value: string): RegExp[] {
  const out: RegExp[] = [];
  for (const part of value.split(',')) {
    const source = part.replace(/^\(\?i\)/, '');
    if (source === '') continue;
    try {
      out.push(new RegExp(`^(?:${source})$`, 'i'));
    } catch (err) {
      throw new ConfigError(`Invalid regular expression in allowed_urls: "${part}": ${(err as Error).message}`);
    }
  }
  return out;
}

function splitLoadModels(value: string | null): string[] {
  if (value === null) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function tempDirectory(env: Env, cwd: string): string {
  const temp = env['TEMP'];
  if (!temp) return tmpdir();
  const dir = resolve(cwd, temp);
  // ts/model_server.py refuses to start with a TEMP that is not a directory.
  if (!isDirectory(dir)) {
    throw new ConfigError(`Invalid temp directory: ${temp}, please check TEMP environment variable.`);
  }
  return dir;
}

/**
 * Loads the configuration. `env` is usually process.env and `cwd` process.cwd(); both are parameters so
 * that nothing here depends on the process. Throws ConfigError for every configuration problem.
 */
export function loadConfig(cli: CliOverrides, env: Env, cwd: string): ServerConfig {
  const logLocation = resolve(cwd, env['LOG_LOCATION'] || 'logs');
  const tempDir = tempDirectory(env, cwd);
  const configFile = locateConfigFile(cli, env, cwd, logLocation);

  const props = configFile === null ? new Map<string, string>() : readConfigFile(configFile);
  substituteEnvVars(props, env);
  applyCli(props, cli);

  const warnings: string[] = [];
  const r = new Reader(props, warnings);
  if (r.bool('enable_envvars_config')) applyEnv(props, env);

  for (const key of props.keys()) {
    if (configKey(key)?.used === false) warnings.push(ignoredKeyWarning(key));
  }

  const modelsText = props.get('models');
  const allowedUrlsText = r.string('allowed_urls') ?? '';

  return {
    inferenceAddress: parseListenAddress(r.string('inference_address') ?? '', 'inference'),
    managementAddress: parseListenAddress(r.string('management_address') ?? '', 'management'),
    metricsAddress: parseListenAddress(r.string('metrics_address') ?? '', 'metrics'),
    enableMetricsApi: r.bool('enable_metrics_api'),
    modelStore: r.path('model_store', cwd),
    loadModels: splitLoadModels(r.string('load_models')),
    modelsJson: modelsText === undefined ? {} : parseModelsJson(modelsText, warnings),
    ...servingLimits((key) => r.int(key)),
    maxRequestSize: r.int('max_request_size'),
    maxResponseSize: r.int('max_response_size'),
    allowedUrls: compileAllowedUrls(allowedUrlsText),
    decodeInputRequest: r.bool('decode_input_request'),
    defaultServiceHandler: r.string('default_service_handler'),
    serviceEnvelope: r.string('service_envelope'),
    grpcInference: { host: r.string('grpc_inference_address') ?? '127.0.0.1', port: r.int('grpc_inference_port') },
    grpcManagement: { host: r.string('grpc_management_address') ?? '127.0.0.1', port: r.int('grpc_management_port') },
    enableGrpc: r.bool('enable_grpc'),
    workflowStore: r.path('workflow_store', cwd),
    corsAllowedOrigin: headerValue(r, 'cors_allowed_origin'),
    corsAllowedMethods: headerValue(r, 'cors_allowed_methods'),
    corsAllowedHeaders: headerValue(r, 'cors_allowed_headers'),
    ...connectionTimeouts(r),
    ...resourceGuards(r),
    predictionMetrics: r.bool('prediction_metrics'),
    certificateFile: r.path('certificate_file', cwd),
    privateKeyFile: r.path('private_key_file', cwd),
    initialWorkerPort: r.int('initial_worker_port'),
    tokenExpirationMin: tokenExpiration(r),
    disableTokenAuthorization: r.bool('disable_token_authorization'),
    enableModelApi: r.bool('enable_model_api'),
    snapshotsEnabled: !cli.noConfigSnapshots,
    intraOpThreads: r.int('intra_op_threads'),
    batchScheduler: batchScheduler(r),
    logLocation,
    logFormat: logFormat(r, env),
    tempDir,
    modelSnapshot: props.get('model_snapshot') ?? null,
    properties: Object.fromEntries(props),
    configFile,
    debug: r.bool('debug'),
    metricsMode: metricsMode(r),
    disableSystemMetrics: r.bool('disable_system_metrics'),
    metricsConfig: loadMetricsConfig(r.path('metrics_config', cwd), r.bool('model_metrics_auto_detect')),
    warnings,
  };
}
