/**
 * Puts the server together: token store, model manager, snapshots, listeners, startup models.
 * `startServer` resolves once every listener is bound and the startup models are loaded.
 */
import { availableParallelism } from 'node:os';
import { TokenStore } from './auth/token-store.js';
import type { ServerConfig } from './config/types.js';
import { startGrpcServers, type GrpcListeners } from './grpc/server.js';
import { createRequestListener, type ApiRole } from './http/app.js';
import type { HttpDeps } from './http/exchange.js';
import { closeListener, listen, type Listener } from './http/listeners.js';
import { ServerLogs } from './logging/server-logs.js';
import { createMetricsListener } from './metrics/metrics-listener.js';
import { ServerMetricsImpl, versionStates } from './metrics/server-metrics.js';
import { ModelManager } from './registry/model-manager.js';
import { expandLoadModels, loadStartupModels, restoreSnapshot } from './registry/startup-models.js';
import { snapshotToRestore } from './snapshot/restore-source.js';
import { SnapshotManager } from './snapshot/snapshot-manager.js';
import { workflowManagerFor } from './workflows/workflow-manager.js';

export interface RunningServer {
  /** Bound URLs; equal when inference and management share one listener. */
  inferenceUrl: string;
  managementUrl: string;
  /** The metrics API's URL, or null with enable_metrics_api=false. */
  metricsUrl: string | null;
  /** The gRPC APIs' bound `host:port` targets, or null with enable_grpc=false. */
  grpcInferenceUrl: string | null;
  grpcManagementUrl: string | null;
  manager: ModelManager;
  tokens: TokenStore | null;
  /** Drains the listeners, writes the shutdown snapshot, stops every worker. */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Where key_file.json is written (TorchServe: the working directory). */
  cwd: string;
  log?: (message: string) => void;
}

export async function startServer(config: ServerConfig, opts: StartOptions): Promise<RunningServer> {
  // Every line also goes to $LOG_LOCATION/ts_log.log; requests to access_log.log, handler output to model_log.log.
  const logs = new ServerLogs(config.logLocation, { format: config.logFormat });
  const print = opts.log ?? ((m: string) => console.log(m));
  const log = (m: string): void => (logs.server(m), print(m));
  const tokens = config.disableTokenAuthorization ? null : new TokenStore(opts.cwd, config.tokenExpirationMin);
  let starting = true;
  let snapshots: SnapshotManager | null = null;
  // Read at scrape time: queue depths, workers by state, the queues' own drop counters.
  const metrics: ServerMetricsImpl = new ServerMetricsImpl(config, () => versionStates(manager), log);
  // Snapshots wait until startup is over: a crash during a restore must not replace the snapshot being restored.
  const manager = new ModelManager(
    config,
    () => {
      if (!starting) snapshots?.save('snapshot');
    },
    log,
    metrics,
    logs.workerOutput,
  );
  snapshots = new SnapshotManager(config, manager);
  const workflows = workflowManagerFor(manager, metrics, log);
  const deps: HttpDeps = { config, manager, tokens, metrics };

  const listeners: Listener[] = [];
  let metricsListener: Listener | null = null;
  let grpc: GrpcListeners | null = null;
  try {
    const shared = config.inferenceAddress.raw === config.managementAddress.raw;
    const roles: Array<[ApiRole, ServerConfig['inferenceAddress']]> = shared
      ? [['all', config.inferenceAddress]]
      : [
          ['inference', config.inferenceAddress],
          ['management', config.managementAddress],
        ];
    for (const [role, address] of roles) listeners.push(await listen(logs.wrapListener(createRequestListener(deps, role)), address, config));
    if (config.enableMetricsApi) metricsListener = await listen(logs.wrapListener(createMetricsListener(metrics, config.metricsAddress.host)), config.metricsAddress, config);
    if (config.enableGrpc) grpc = await startGrpcServers({ ...deps, access: (e) => logs.access(e) });
  } catch (err) {
    await Promise.all([...listeners, ...(metricsListener ? [metricsListener] : [])].map((l) => closeListener(l, 0)));
    tokens?.remove();
    await metrics.close();
    await logs.close();
    throw err;
  }
  const inferenceUrl = listeners[0]!.url;
  const managementUrl = listeners[listeners.length - 1]!.url;
  log(`Inference API bound to ${inferenceUrl}`);
  log(`Management API bound to ${managementUrl}`);
  if (metricsListener) log(`Metrics API bound to ${metricsListener.url}`);
  if (grpc) log(`gRPC Inference API bound to ${grpc.inference.address}`);
  if (grpc) log(`gRPC Management API bound to ${grpc.management.address}`);
  if (metricsListener) listeners.push(metricsListener);
  log(`Cores: ${availableParallelism()}, model store: ${config.modelStore ?? '(none)'}`);

  // The snapshot brings back what was registered, scaled and made default at run time; then the models
  // the command line or load_models name are loaded if the snapshot did not bring them back. (TorchServe
  // ignores --models when it restores, and ignores snapshots under --ts-config, so its users lose either
  // their registrations or their command line; ortserve keeps both.)
  try {
    await manager.sweepStaleDirs();
    const restore = snapshotToRestore(config);
    if (restore) await restoreSnapshot(manager, restore.snapshot, log);
    const entries = expandLoadModels(config.loadModels, config.modelStore);
    await loadStartupModels(manager, entries, restore?.loadModels ?? new Set(), log);
  } catch (err) {
    await Promise.all([...listeners.map((l) => closeListener(l, 0)), grpc?.close(0)]);
    await manager.shutdown();
    tokens?.remove();
    await metrics.close();
    await logs.close();
    throw err;
  }
  starting = false;
  snapshots.save('startup');
  logs.server('Model server started.');

  let closing: Promise<void> | null = null;
  return {
    inferenceUrl,
    managementUrl,
    metricsUrl: metricsListener?.url ?? null,
    grpcInferenceUrl: grpc?.inference.address ?? null,
    grpcManagementUrl: grpc?.management.address ?? null,
    manager,
    tokens,
    close(graceMs = 30_000) {
      closing ??= (async () => {
        // One drain timeout for everything: batches still running when the listeners are closed get what
        // is left of it, so that shutdown ends on time even with a handler that never returns.
        const deadline = Date.now() + graceMs;
        await Promise.all([...listeners.map((l) => closeListener(l, graceMs)), grpc?.close(graceMs)]);
        snapshots.save('shutdown');
        await manager.shutdown(Math.max(0, deadline - Date.now()));
        await workflows.shutdown();
        await metrics.close();
        await logs.close();
      })();
      return closing;
    },
  };
}
