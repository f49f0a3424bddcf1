/**
 * Puts the server together: token store, model manager, snapshots, listeners, startup models.
 * `startServer` resolves once every listener is bound and the startup models are loaded.
 */
import { availableParallelism } from 'node:os';
import { TokenStore } from './auth/token-store.js';
import type { ServerConfig } from './config/types.js';
import { createRequestListener, type ApiRole } from './http/app.js';
import type { HttpDeps } from './http/exchange.js';
import { closeListener, listen, type Listener } from './http/listeners.js';
import { ModelManager } from './registry/model-manager.js';
import { expandLoadModels, loadStartupModels, restoreSnapshot } from './registry/startup-models.js';
import { snapshotToRestore } from './snapshot/restore-source.js';
import { SnapshotManager } from './snapshot/snapshot-manager.js';

export interface RunningServer {
  /** Bound URLs; equal when inference and management share one listener. */
  inferenceUrl: string;
  managementUrl: string;
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
  const log = opts.log ?? ((m: string) => console.log(m));
  const tokens = config.disableTokenAuthorization ? null : new TokenStore(opts.cwd, config.tokenExpirationMin);
  let starting = true;
  let snapshots: SnapshotManager | null = null;
  // Snapshots wait until startup is over: a crash during a restore must not replace the snapshot being restored.
  const manager = new ModelManager(
    config,
    () => {
      if (!starting) snapshots?.save('snapshot');
    },
    log,
  );
  snapshots = new SnapshotManager(config, manager);
  const deps: HttpDeps = { config, manager, tokens };

  const listeners: Listener[] = [];
  try {
    const shared = config.inferenceAddress.raw === config.managementAddress.raw;
    const roles: Array<[ApiRole, ServerConfig['inferenceAddress']]> = shared
      ? [['all', config.inferenceAddress]]
      : [
          ['inference', config.inferenceAddress],
          ['management', config.managementAddress],
        ];
    for (const [role, address] of roles) listeners.push(await listen(createRequestListener(deps, role), address, config));
  } catch (err) {
    await Promise.all(listeners.map((l) => closeListener(l, 0)));
    tokens?.remove();
    throw err;
  }
  const inferenceUrl = listeners[0]!.url;
  const managementUrl = listeners[listeners.length - 1]!.url;
  log(`Inference API bound to ${inferenceUrl}`);
  log(`Management API bound to ${managementUrl}`);
  log(`Cores: ${availableParallelism()}, model store: ${config.modelStore ?? '(none)'}`);

  // The snapshot brings back what was registered, scaled and made default at run time; then the models
  // the command line or load_models name are loaded if the snapshot did not bring them back. (TorchServe
  // ignores --models when it restores, and ignores snapshots under --ts-config, so its users lose either
  // their registrations or their command line; ortserve keeps both.)
  try {
    const restore = snapshotToRestore(config);
    if (restore) await restoreSnapshot(manager, restore.snapshot, log);
    const entries = expandLoadModels(config.loadModels, config.modelStore);
    await loadStartupModels(manager, entries, restore?.loadModels ?? new Set(), log);
  } catch (err) {
    await Promise.all(listeners.map((l) => closeListener(l, 0)));
    await manager.shutdown();
    tokens?.remove();
    throw err;
  }
  starting = false;
  snapshots.save('startup');

  let closing: Promise<void> | null = null;
  return {
    inferenceUrl,
    managementUrl,
    manager,
    tokens,
    close(graceMs = 30_000) {
      closing ??= (async () => {
        await Promise.all(listeners.map((l) => closeListener(l, graceMs)));
        snapshots.save('shutdown');
        await manager.shutdown();
      })();
      return closing;
    },
  };
}
