/** Shapes of a model archive: MAR-INF/MANIFEST.json and model-config.yaml (spec §6). */

export interface ManifestModel {
  modelName?: string;
  modelVersion?: string;
  serializedFile?: string;
  handler?: string;
  modelFile?: string;
  requirementsFile?: string;
  configFile?: string;
  description?: string;
  envelope?: string;
  /** Accepted by TorchServe's Java `Manifest.Model` (an older spelling); kept when present. */
  version?: string;
}

export interface Manifest {
  createdOn?: string;
  runtime: string;
  model: ManifestModel;
  archiverVersion?: string;
  description?: string;
}

/**
 * The frontend keys of model-config.yaml that ortserve reads (spec §6.2). Every other key stays in
 * `raw` and reaches the handler as `context.modelYamlConfig`.
 */
export interface ModelConfig {
  minWorkers?: number;
  maxWorkers?: number;
  batchSize?: number;
  maxBatchDelay?: number;
  responseTimeout?: number;
  startupTimeout?: number;
  maxRetryTimeoutInSec?: number;
  clientTimeoutInMills?: number;
  jobQueueSize?: number;
  useJobTicket?: boolean;
  deviceType?: string;
  parallelType?: string;
  parallelLevel?: number;
  continuousBatching?: boolean;
  useVenv?: boolean;
  /** GPU ids to assign round-robin (kept for fidelity; ortserve runs on CPU). */
  deviceIds?: number[];
  asyncCommunication?: boolean;
  sequenceMaxIdleMSec?: number;
  sequenceTimeoutMSec?: number;
  maxSequenceJobQueueSize?: number;
  maxNumSequence?: number;
  sequenceBatching?: boolean;
  /** ortserve-only: cap on padded tokens per batch (issue 3). */
  maxBatchTokens?: number;
  /** The whole parsed YAML document ({} when the archive has no config file). */
  raw: Record<string, unknown>;
}

/** An archive opened into a private directory, ready to be served. */
export interface OpenedArchive {
  /** The handler's `model_dir`: the archive's flat root. */
  modelDir: string;
  manifest: Manifest;
  modelConfig: ModelConfig;
  /** True when the config file existed (then its response/startup timeouts always win, spec §2.1). */
  hasConfigFile: boolean;
  /** Removes the private extraction directory (a no-op for directories served in place). */
  dispose(): Promise<void>;
  /** True when the archive was extracted into a private directory (false: a directory served in place). */
  extracted?: boolean;
  /**
   * SHA-256 of the archive file (hex), so that a client can tell which archive answered (describe's
   * extra `archiveSha256`); null for a directory served in place.
   */
  archiveSha256?: string | null;
  /** Things worth logging that did not stop the load (e.g. model-config.yaml values that were ignored). */
  warnings?: string[];
}

/** Limits applied while extracting an archive. */
export interface ExtractLimits {
  /** Total uncompressed bytes allowed. */
  maxTotalBytes: number;
  /** Maximum number of entries. */
  maxEntries: number;
  /** Maximum ratio of uncompressed to compressed size: per zip entry, over a tarball's whole stream. */
  maxCompressionRatio: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxTotalBytes: 8 * 1024 * 1024 * 1024,
  maxEntries: 100_000,
  maxCompressionRatio: 200,
};

/**
 * Largest zip file ortserve reads or writes. adm-zip parses and builds a zip as one Buffer, so the
 * whole file is held in memory, and Node's readFile stops at 2 GiB anyway; tar.gz archives and model
 * directories have no such cap (they are streamed or served in place).
 */
export const MAX_ZIP_FILE_BYTES = 2 ** 31 - 1;
