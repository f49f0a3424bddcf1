/** The server's configuration, after config.properties, environment (TS_*) and CLI flags were merged (spec §5). */
import type { MetricsConfig } from '../metrics/metrics-config.js';
import type { LimitCaps } from './limits.js';

/** A listener address: `http(s)://host:port`. Port 0 binds a free port. */
export interface ListenAddress {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /**
   * The address normalised to `scheme://host:port` (lower-case scheme, explicit port, IPv6 in brackets),
   * e.g. `http://127.0.0.1:8080`. Two listeners with equal `raw` share one socket.
   */
  raw: string;
}

/** Per-version settings from config.properties `models` (spec §5); non-positive integers are dropped. */
export interface ModelsJsonEntry {
  defaultVersion?: boolean;
  marName?: string;
  minWorkers?: number;
  maxWorkers?: number;
  batchSize?: number;
  maxBatchDelay?: number;
  responseTimeout?: number;
  startupTimeout?: number;
  runtimeType?: string;
  parallelLevel?: number;
}
/** `{"<model>": {"<version>": ModelsJsonEntry}}` */
export type ModelsJson = Record<string, Record<string, ModelsJsonEntry>>;

/** `maxWorkersPerModel` and `maxBatchSize` (LimitCaps) are resolved: the automatic 0 is already the number. */
export interface ServerConfig extends LimitCaps {
  inferenceAddress: ListenAddress;
  managementAddress: ListenAddress;
  metricsAddress: ListenAddress;
  enableMetricsApi: boolean;
  modelStore: string | null;
  /** `load_models` / `--models`: entries as written (`all`, `name=url`, `url`). */
  loadModels: string[];
  modelsJson: ModelsJson;
  /** 0 = ortserve's automatic choice (see docs/compatibility.md). */
  defaultWorkersPerModel: number;
  jobQueueSize: number;
  defaultResponseTimeoutSec: number;
  defaultStartupTimeoutSec: number;
  unregisterModelTimeoutSec: number;
  maxRequestSize: number;
  maxResponseSize: number;
  /** Case-insensitive full-match regexes. ortserve's default allows local files only. */
  allowedUrls: RegExp[];
  decodeInputRequest: boolean;
  defaultServiceHandler: string | null;
  serviceEnvelope: string | null;
  /** gRPC listeners (`grpc_inference_address`/`_port`, `grpc_management_address`/`_port`); port 0 binds a free port. */
  grpcInference: { host: string; port: number };
  grpcManagement: { host: string; port: number };
  /** `enable_grpc` (ortserve only, default true). */
  enableGrpc: boolean;
  /** `workflow_store`: where `.war` archives are looked up (default: the model store). */
  workflowStore: string | null;
  corsAllowedOrigin: string | null;
  corsAllowedMethods: string | null;
  corsAllowedHeaders: string | null;
  /** ortserve-only: `headers_timeout_ms`, time to send the request line and headers (0 = no limit). */
  headersTimeoutMs: number;
  /** ortserve-only: `request_timeout_ms`, time to send a whole request (0 = no limit). */
  requestTimeoutMs: number;
  /** ortserve-only: `keep_alive_timeout_ms`, how long an idle keep-alive connection is kept (0 = forever). */
  keepAliveTimeoutMs: number;
  /** ortserve-only: `max_connections`, open connections per HTTP listener (0 = no limit). */
  maxConnections: number;
  /** ortserve-only: `max_process_rss_mb`, above which predictions get 503 (0 = no guard). */
  maxProcessRssMb: number;
  /** ortserve-only: `prediction_metrics`, whether /metrics has the families derived from predictions. */
  predictionMetrics: boolean;
  certificateFile: string | null;
  privateKeyFile: string | null;
  initialWorkerPort: number;
  tokenExpirationMin: number;
  disableTokenAuthorization: boolean;
  enableModelApi: boolean;
  /** Write and restore snapshots (false with `--ncs`). */
  snapshotsEnabled: boolean;
  /** ortserve-only: ONNX Runtime intra-op threads per worker; 0 = cores ÷ workers of the model version. */
  intraOpThreads: number;
  /** ortserve-only: how batches are formed (see docs/batching.md). */
  batchScheduler: 'adaptive' | 'torchserve';
  /** ortserve-only: cap on estimated padded tokens per batch. */
  maxBatchTokens: number;
  /** Directory for logs and `config/` snapshots (`LOG_LOCATION`, default `logs`). */
  logLocation: string;
  /** ortserve-only: `log_format` (or env ORTSERVE_LOG_FORMAT) of the log files; see docs/logging.md. */
  logFormat: 'text' | 'json';
  /** Where archives are extracted (`TEMP`, default os.tmpdir()). */
  tempDir: string;
  /** model_snapshot JSON found in the config file (when the file is a snapshot), else null. */
  modelSnapshot: string | null;
  /**
   * Every key=value read from the file after `$$VAR$$` substitution, with the CLI and TS_* overrides
   * applied on top (as TorchServe's `ConfigManager.prop`), for snapshots and handlers. Defaults are not
   * filled in. Includes `model_snapshot` when the file had one.
   */
  properties: Record<string, string>;
  /** Path of the config file that was read, or null when only defaults were used. */
  configFile: string | null;
  /** `debug=true`: TorchServe then starts 1 worker per startup model. */
  debug: boolean;
  /** `metrics_mode`, default `prometheus` (TorchServe: `log`); an unknown value falls back to `log` with a warning, as in TorchServe. */
  metricsMode: 'log' | 'prometheus' | 'legacy';
  /** `metric_time_interval`: seconds between system-metric collections (default 60). */
  metricTimeIntervalSec: number;
  /** `disable_system_metrics`. */
  disableSystemMetrics: boolean;
  /** `metrics_config` (metrics.yaml, TorchServe's default without one) and `model_metrics_auto_detect`. */
  metricsConfig: MetricsConfig;
  /**
   * Problems that TorchServe tolerates (it logs and falls back to a default) and ortserve reports the same
   * way: non-boolean values of boolean keys, a bad `token_expiration_min` or `metrics_mode`, invalid
   * fields of `models`, keys ortserve ignores. The caller logs them at startup.
   */
  warnings: string[];
}

/** What the CLI contributes (spec §11); fields left undefined do not override the file. */
export interface CliOverrides {
  tsConfig?: string;
  modelStore?: string;
  workflowStore?: string;
  models?: string[];
  noConfigSnapshots?: boolean;
  disableTokenAuth?: boolean;
  enableModelApi?: boolean;
}
