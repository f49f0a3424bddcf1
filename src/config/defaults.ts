/**
 * Every config.properties key of spec §5, with TorchServe's default (from `ConfigManager`), the
 * environment variable that may override it, and whether ortserve acts on it.
 *
 * Keys with `used: false` are accepted, kept in `ServerConfig.properties` (and so in snapshots), and
 * otherwise ignored, so that a TorchServe config.properties loads unchanged. Keys that appear nowhere in
 * this table are kept in `properties` too: TorchServe accepts any key and handlers may read custom ones.
 */

export interface ConfigKey {
  /** TorchServe's default as the property string it would parse; null = unset (no default). */
  readonly default: string | null;
  /**
   * The variable that overrides the key when `enable_envvars_config=true`: the name of the `TS_*`
   * constant in ConfigManager (its `setSystemVars` reads `System.getenv(<constant name>)`), or null
   * when the key cannot be set from the environment. It is not always `TS_` + upper-case key:
   * `token_expiration_min` is `TS_TOKEN_EXPIRATION_TIME_MIN`, `ts_header_key_sequence_id` is
   * `TS_HEADER_KEY_SEQUENCE_ID`.
   */
  readonly env: string | null;
  /** false: accepted and kept, but ignored by ortserve (JVM, Netty, gRPC, IPEX, Python-only settings). */
  readonly used: boolean;
}

function key(defaultValue: string | null, env: string | null, used = true): ConfigKey {
  return { default: defaultValue, env, used };
}

/** TorchServe's own allowed_urls default, for reference: any file or http(s) URL. */
export const TORCHSERVE_DEFAULT_ALLOWED_URLS = 'file://.*|http(s)?://.*';

/**
 * ortserve deviation: only local `file://` URLs are allowed unless the operator widens the list.
 * TorchServe's default lets a management client make the server download from anywhere (it even logs a
 * warning about it); ortserve refuses that by default. Plain model-store names (`resnet.mar`) are not
 * URLs and are always allowed, as in TorchServe.
 */
export const ORTSERVE_DEFAULT_ALLOWED_URLS = 'file://.*';

/** TorchServe's own metrics_mode default, for reference: metrics go to log files and /metrics is empty. */
export const TORCHSERVE_DEFAULT_METRICS_MODE = 'log';

/** ortserve deviation: /metrics serves TorchServe's and ortserve's metrics unless the operator says otherwise. */
export const ORTSERVE_DEFAULT_METRICS_MODE = 'prometheus';

export const CONFIG_KEYS: Readonly<Record<string, ConfigKey>> = {
  // --- listeners -------------------------------------------------------------------------------------
  inference_address: key('http://127.0.0.1:8080', 'TS_INFERENCE_ADDRESS'),
  management_address: key('http://127.0.0.1:8081', 'TS_MANAGEMENT_ADDRESS'),
  metrics_address: key('http://127.0.0.1:8082', 'TS_METRICS_ADDRESS'),
  enable_metrics_api: key('true', 'TS_ENABLE_METRICS_API'),
  cors_allowed_origin: key(null, 'TS_CORS_ALLOWED_ORIGIN'),
  cors_allowed_methods: key(null, 'TS_CORS_ALLOWED_METHODS'),
  cors_allowed_headers: key(null, 'TS_CORS_ALLOWED_HEADERS'),
  private_key_file: key(null, 'TS_PRIVATE_KEY_FILE'),
  certificate_file: key(null, 'TS_CERTIFICATE_FILE'),
  max_request_size: key('6553500', 'TS_MAX_REQUEST_SIZE'),
  max_response_size: key('6553500', 'TS_MAX_RESPONSE_SIZE'),
  /**
   * ortserve-only (TorchServe has no such limit): milliseconds a client has, from the moment it connects
   * or starts a request, to send the request line and all headers (Node's `server.headersTimeout`; the TLS
   * handshake timeout of an https listener too). A connection that sends nothing, or sends its headers a
   * byte at a time (slowloris), is answered 408 and closed. 0 = no limit.
   */
  headers_timeout_ms: key('30000', null),
  /**
   * ortserve-only: milliseconds a client has to send a whole request, headers and body (Node's
   * `server.requestTimeout`). A client that stops mid-body is answered 408 and closed. Must be 0 (no
   * limit) or at least headers_timeout_ms. The default lets a max_request_size body (6.5 MB) arrive at
   * 55 KB/s.
   */
  request_timeout_ms: key('120000', null),
  /**
   * ortserve-only: milliseconds an idle keep-alive connection is kept after a response (Node's
   * `server.keepAliveTimeout`). Longer than the 60 s idle timeout of common proxies and load balancers, so
   * that they, not ortserve, close idle pooled connections (no reset races). 0 = never closed.
   */
  keep_alive_timeout_ms: key('65000', null),
  /**
   * ortserve-only: open connections each HTTP listener (inference, management, metrics) accepts at once
   * (Node's `server.maxConnections`); a connection beyond it is closed as soon as it is accepted. With
   * max_request_size it bounds the memory request bodies can hold. 0 = no limit.
   */
  max_connections: key('1024', null),
  /**
   * ortserve-only: the resident set size (MB) of the whole process above which new predictions are
   * refused with 503 until it falls again, so that one model's growth is refused before the kernel's OOM
   * killer ends the process and every model with it. Unset: 90% of the memory the process may use (the
   * machine's, or its cgroup limit when lower). 0 = no guard.
   */
  max_process_rss_mb: key(null, null),

  // --- models --------------------------------------------------------------------------------------
  model_store: key(null, 'TS_MODEL_STORE'),
  load_models: key(null, 'TS_LOAD_MODELS'),
  models: key(null, null),
  model_snapshot: key(null, null),
  /** ortserve: 0 means "automatic" (see docs/compatibility.md), not TorchServe's #GPUs-or-#CPUs rule. */
  default_workers_per_model: key('0', 'TS_DEFAULT_WORKERS_PER_MODEL'),
  job_queue_size: key('100', 'TS_JOB_QUEUE_SIZE'),
  default_response_timeout: key('120', 'TS_DEFAULT_RESPONSE_TIMEOUT'),
  default_startup_timeout: key('120', 'TS_DEFAULT_STARTUP_TIMEOUT'),
  unregister_model_timeout: key('120', 'TS_UNREGISTER_MODEL_TIMEOUT'),
  /** ortserve deviation: see ORTSERVE_DEFAULT_ALLOWED_URLS. */
  allowed_urls: key(ORTSERVE_DEFAULT_ALLOWED_URLS, 'TS_ALLOWED_URLS'),
  use_env_allowed_urls: key('false', null),
  decode_input_request: key('true', 'TS_DECODE_INPUT_REQUEST'),
  default_service_handler: key(null, 'TS_DEFAULT_SERVICE_HANDLER'),
  service_envelope: key(null, 'TS_SERVICE_ENVELOPE'),
  initial_worker_port: key('9000', 'TS_INITIAL_WORKER_PORT'),
  /**
   * ortserve-only: ONNX Runtime intra-op threads per worker; 0 = automatic (cores ÷ workers of the model
   * version). Its TS_INTRA_OP_THREADS variable is an ortserve addition following TorchServe's naming.
   */
  intra_op_threads: key('0', 'TS_INTRA_OP_THREADS'),
  /**
   * ortserve-only: `adaptive` (idle workers never wait; batches grouped by length, capped by padded
   * tokens) or `torchserve` (arrival order, always wait up to max_batch_delay: TorchServe's behaviour).
   */
  batch_scheduler: key('adaptive', 'TS_BATCH_SCHEDULER'),
  /** ortserve-only: the cap on (estimated) padded tokens per batch; model-config.yaml `maxBatchTokens` overrides it. */
  max_batch_tokens: key('1024', 'TS_MAX_BATCH_TOKENS'),
  /**
   * ortserve-only: the most workers one model version may have, from any source (register, scale,
   * model-config.yaml, `models`, snapshots); more is a 400 naming this key. 0 = 4 × the cores
   * (src/config/limits.ts).
   */
  max_workers_per_model: key('0', null),
  /**
   * ortserve-only: the largest batch_size a model version may have. 1024: with the adaptive scheduler's
   * default max_batch_tokens=1024 and at least one token per request, no batch can hold more.
   */
  max_batch_size: key('1024', null),
  debug: key('false', 'TS_DEBUG'),
  /**
   * ortserve-only: `text` (TorchServe's log4j2 line patterns) or `json` (one JSON object per line) for
   * ts_log.log, model_log.log and access_log.log. The ORTSERVE_LOG_FORMAT variable overrides it (docs/logging.md).
   */
  log_format: key('text', null),

  // --- security ------------------------------------------------------------------------------------
  token_expiration_min: key('60', 'TS_TOKEN_EXPIRATION_TIME_MIN'),
  disable_token_authorization: key('false', 'TS_DISABLE_TOKEN_AUTHORIZATION'),
  enable_model_api: key('false', 'TS_ENABLE_MODEL_API'),

  // --- metrics -------------------------------------------------------------------------------------
  /** ortserve deviation: `prometheus` (TorchServe: `log`, which leaves /metrics empty; docs/metrics.md). */
  metrics_mode: key(ORTSERVE_DEFAULT_METRICS_MODE, 'TS_METRICS_MODE'),
  /** Not env-mappable in TorchServe (no TS_ constant). */
  metric_time_interval: key('60', null),
  disable_system_metrics: key('false', 'TS_DISABLE_SYSTEM_METRICS'),
  metrics_config: key(null, 'TS_METRICS_CONFIG'),
  model_metrics_auto_detect: key('false', 'TS_MODEL_METRICS_AUTO_DETECT'),
  /**
   * ortserve-only: false leaves out the metric families derived from what was predicted (labels, token
   * counts), which tell a /metrics reader about other clients' requests (docs/security.md).
   */
  prediction_metrics: key('true', null),
  system_metrics_cmd: key('', null, false),

  // --- configuration itself ------------------------------------------------------------------------
  enable_envvars_config: key('false', null),

  // --- handler-visible settings that the frontend only passes through ------------------------------
  limit_max_image_pixels: key('true', 'TS_LIMIT_MAX_IMAGE_PIXELS'),
  ts_header_key_sequence_id: key('ts_request_sequence_id', 'TS_HEADER_KEY_SEQUENCE_ID'),
  ts_header_key_sequence_start: key('ts_request_sequence_start', 'TS_HEADER_KEY_SEQUENCE_START'),
  ts_header_key_sequence_end: key('ts_request_sequence_end', 'TS_HEADER_KEY_SEQUENCE_END'),
  blacklist_env_vars: key('', 'TS_BLACKLIST_ENV_VARS'),
  workflow_store: key(null, 'TS_WORKFLOW_STORE'),

  // --- gRPC (spec §9) --------------------------------------------------------------------------------
  grpc_inference_address: key('127.0.0.1', 'TS_GRPC_INFERENCE_ADDRESS'),
  grpc_management_address: key('127.0.0.1', 'TS_GRPC_MANAGEMENT_ADDRESS'),
  grpc_inference_port: key('7070', 'TS_GRPC_INFERENCE_PORT'),
  grpc_management_port: key('7071', 'TS_GRPC_MANAGEMENT_PORT'),
  /** ortserve only: false starts no gRPC listener. */
  enable_grpc: key('true', null),

  // --- accepted but ignored: JVM, Netty, Python, IPEX, keystores --------------------------------------
  grpc_inference_max_connection_age_ms: key(null, 'TS_GRPC_INFERENCE_MAX_CONNECTION_AGE_MS', false),
  grpc_management_max_connection_age_ms: key(null, 'TS_GRPC_MANAGEMENT_MAX_CONNECTION_AGE_MS', false),
  grpc_inference_max_connection_age_grace_ms: key(null, 'TS_GRPC_INFERENCE_MAX_CONNECTION_AGE_GRACE_MS', false),
  grpc_management_max_connection_age_grace_ms: key(null, 'TS_GRPC_MANAGEMENT_MAX_CONNECTION_AGE_GRACE_MS', false),
  enable_grpc_ssl: key('false', 'TS_ENABLE_GRPC_SSL', false),
  number_of_netty_threads: key('0', 'TS_NUMBER_OF_NETTY_THREADS', false),
  netty_client_threads: key('0', 'TS_NETTY_CLIENT_THREADS', false),
  number_of_gpu: key(null, 'TS_NUMBER_OF_GPU', false),
  keystore: key(null, 'TS_KEYSTORE', false),
  keystore_pass: key('changeit', 'TS_KEYSTORE_PASS', false),
  keystore_type: key('PKCS12', 'TS_KEYSTORE_TYPE', false),
  install_py_dep_per_model: key('false', 'TS_INSTALL_PY_DEP_PER_MODEL', false),
  async_logging: key('false', 'TS_ASYNC_LOGGING', false),
  prefer_direct_buffer: key('false', 'TS_PREFER_DIRECT_BUFFER', false),
  use_native_io: key('true', null, false),
  io_ratio: key('50', null, false),
  initial_distribution_port: key('29500', 'TS_INITIAL_DISTRIBUTION_PORT', false),
  ipex_enable: key('false', 'TS_IPEX_ENABLE', false),
  ipex_gpu_enable: key('false', 'TS_IPEX_GPU_ENABLE', false),
  cpu_launcher_enable: key('false', 'TS_CPU_LAUNCHER_ENABLE', false),
  cpu_launcher_args: key(null, 'TS_CPU_LAUNCHER_ARGS', false),
  vmargs: key(null, null, false),
  model_server_home: key(null, 'TS_MODEL_SERVER_HOME', false),
  cpp_log_config: key(null, 'TS_CPP_LOG_CONFIG', false),
  ts_open_inference_protocol: key('false', 'TS_OPEN_INFERENCE_PROTOCOL', false),
};

/** The table entry of a key, or undefined (an own-property lookup, so `constructor` is not a key). */
export function configKey(name: string): ConfigKey | undefined {
  return Object.hasOwn(CONFIG_KEYS, name) ? CONFIG_KEYS[name] : undefined;
}

/** The default of a key of CONFIG_KEYS (null when it has none). Throws for keys not in the table. */
export function defaultOf(name: string): string | null {
  const entry = configKey(name);
  if (entry === undefined) throw new Error(`not a known config key: ${name}`);
  return entry.default;
}

/** `[envVar, key]` for every key that `enable_envvars_config=true` lets the environment override. */
export function envMappings(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, entry] of Object.entries(CONFIG_KEYS)) {
    if (entry.env !== null) out.push([entry.env, name]);
  }
  return out;
}
