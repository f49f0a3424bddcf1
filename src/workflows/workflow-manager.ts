/**
 * Registers, lists, describes, unregisters and runs workflows (TorchServe 0.12's WorkflowManager, spec §10).
 *
 * Registering a workflow opens its .war, reads the spec and registers every DAG node as a model named
 * `<workflow>__<node>` through the model manager (synchronously, with `max-workers` initial workers, the
 * node's batch size and max batch delay, and the request's response and startup timeouts, as
 * `WorkflowManager.registerModelWrapper` → `ApiUtils.handleRegister`). Model nodes load their `.mar`;
 * function nodes are served from the extracted archive with the handler `<handler file>:<node>`, so they
 * run in worker threads like any handler. If a node fails to register, the nodes already registered are
 * unregistered and the answer is TorchServe's 500 "Workflow <name> has failed to register. Failures: [...]".
 *
 * ortserve checks more before registering anything (400, nothing left registered): every DAG node that is
 * not a model of the spec must be a function the handler exports, every model url naming a local file
 * must exist, and no node's model name may already be taken (409).
 *
 * Workflows are not versioned and not in snapshots (TorchServe's SnapshotManager skips workflow models):
 * after a restart they must be registered again.
 */
import { isUrlLike, resolveModelUrl } from '../archive/resolve-url.js';
import { limitProblem, nameLengthProblem, type LimitCaps, type LimitName } from '../config/limits.js';
import { BadRequestException, ConflictStatusException, InternalServerException, ModelNotFoundException, ServeError } from '../errors.js';
import { submitPrediction } from '../inference/submit.js';
import type { ServerMetrics } from '../metrics/hooks.js';
import type { ModelManager } from '../registry/model-manager.js';
import type { WireRequest } from '../workers/messages.js';
import { openWorkflowArchive, type OpenedWorkflowArchive } from './archive.js';
import { InvalidWorkflowException, WorkflowException, WorkflowNotFoundException } from './errors.js';
import { executeDag } from './executor.js';
import { handlerExports } from './handler-exports.js';
import { releaseWorkflowNodes, reserveWorkflowNodes } from './node-names.js';
import { parseWorkflowSpec, type WorkflowNode, type WorkflowSpec } from './spec.js';

export interface RegisterWorkflowParams {
  url?: string;
  workflowName?: string;
  /** Seconds (TorchServe's default 120). */
  responseTimeout?: number;
  startupTimeout?: number;
}

export interface RegisteredWorkflow {
  name: string;
  archive: OpenedWorkflowArchive;
  spec: WorkflowSpec;
}

export interface WorkflowAnswer {
  body: Uint8Array;
  contentType: string;
}

/** Gson's pretty JSON, as TorchServe's frontend writes it. */
const pretty = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** The bounded node settings of a workflow specification, as it spells them. */
const NODE_LIMITS: ReadonlyArray<readonly [string, 'minWorkers' | 'maxWorkers' | 'batchSize' | 'maxBatchDelay' | 'timeoutMs', LimitName]> = [
  ['min-workers', 'minWorkers', 'workers'],
  ['max-workers', 'maxWorkers', 'workers'],
  ['batch-size', 'batchSize', 'batchSize'],
  ['max-batch-delay', 'maxBatchDelay', 'delayMs'],
  ['timeout-ms', 'timeoutMs', 'timeoutMs'],
];

/** Refuses a workflow name or timeouts out of limits (src/config/limits.ts) before the archive is opened. */
function checkParams(params: RegisterWorkflowParams, caps: LimitCaps): void {
  const problem =
    (params.workflowName === undefined ? null : nameLengthProblem('workflow_name', params.workflowName)) ??
    (params.responseTimeout === undefined ? null : limitProblem('timeoutSec', 'response_timeout', params.responseTimeout, caps)) ??
    (params.startupTimeout === undefined ? null : limitProblem('timeoutSec', 'startup_timeout', params.startupTimeout, caps));
  if (problem !== null) throw new BadRequestException(problem);
}

/** Refuses a specification whose node settings are out of limits, before any node is registered. */
function checkNodeLimits(spec: WorkflowSpec, caps: LimitCaps): void {
  for (const node of spec.nodes) {
    for (const [key, field, limit] of NODE_LIMITS) {
      const problem = limitProblem(limit, `${key} of node "${node.name}"`, node[field], caps);
      if (problem !== null) throw new InvalidWorkflowException(problem);
    }
  }
}

export class WorkflowManager {
  private readonly workflows = new Map<string, RegisteredWorkflow>();
  /** Names being registered: a second registration of the same name is a 409 at once. */
  private readonly registering = new Set<string>();

  constructor(
    private readonly manager: ModelManager,
    private readonly metrics: ServerMetrics,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  get(name: string): RegisteredWorkflow {
    const wf = this.workflows.get(name);
    if (!wf) throw new WorkflowNotFoundException(`Workflow not found: ${name}`);
    return wf;
  }

  names(): string[] {
    return [...this.workflows.keys()].sort();
  }

  async register(params: RegisterWorkflowParams): Promise<{ status: number; message: string }> {
    if (!params.url) throw new BadRequestException('Parameter url is required.');
    checkParams(params, this.manager.config);
    const archive = await openWorkflowArchive(params.url, params.workflowName, this.manager.config);
    const name = archive.name;
    let spec: WorkflowSpec;
    try {
      spec = parseWorkflowSpec(archive.specText, name);
      checkNodeLimits(spec, this.manager.config);
      if (this.workflows.has(name) || this.registering.has(name)) throw new ConflictStatusException(`Workflow ${name} is already registered.`);
      await this.check(archive, spec);
    } catch (err) {
      await archive.dispose();
      throw err;
    }
    const modelNames = spec.nodes.map((n) => n.modelName);
    this.registering.add(name);
    reserveWorkflowNodes(this.manager, modelNames);
    try {
      const results = await Promise.all(spec.nodes.map((node) => this.registerNode(archive, node, params)));
      const failures = results.filter((r): r is string => r !== null);
      if (failures.length > 0) {
        const registered = spec.nodes.filter((_, i) => results[i] === null).map((n) => n.modelName);
        await this.unregisterNodes(registered);
        releaseWorkflowNodes(this.manager, modelNames);
        await archive.dispose();
        throw new WorkflowException(`Workflow ${name} has failed to register. Failures: [${failures.join(', ')}]`);
      }
      this.workflows.set(name, { name, archive, spec });
      return { status: 200, message: `Workflow ${name} has been registered and scaled successfully.` };
    } finally {
      this.registering.delete(name);
    }
  }

  /** ortserve's checks before anything is registered. */
  private async check(archive: OpenedWorkflowArchive, spec: WorkflowSpec): Promise<void> {
    const functions = spec.nodes.filter((n) => n.kind === 'function');
    if (functions.length > 0) {
      if (archive.handler === null) {
        throw new InvalidWorkflowException(
          `DAG node "${functions[0]!.name}" is not a model of the specification's "models", and the workflow archive has no handler to run it as a function.`,
        );
      }
      const exported = await handlerExports(archive.dir, archive.handler);
      const unknown = functions.find((n) => !exported.has(n.name));
      if (unknown) {
        throw new InvalidWorkflowException(
          `DAG node "${unknown.name}" is neither a model of the specification's "models" nor a function exported by the workflow handler ${archive.handler}.`,
        );
      }
    }
    const config = this.manager.config;
    for (const node of spec.nodes) {
      if (this.manager.registry.has(node.modelName)) {
        throw new ConflictStatusException(`Model ${node.modelName} (workflow node "${node.name}") is already registered.`);
      }
      if (node.url === null || isUrlLike(node.url)) continue;
      try {
        await resolveModelUrl(node.url, { modelStore: config.modelStore, allowedUrls: config.allowedUrls });
      } catch (err) {
        if (err instanceof ModelNotFoundException) throw new InvalidWorkflowException(`Workflow node "${node.name}": ${err.message}`);
        throw err;
      }
    }
  }

  /** Registers one node; null on success, else TorchServe's failure text. */
  private async registerNode(archive: OpenedWorkflowArchive, node: WorkflowNode, params: RegisterWorkflowParams): Promise<string | null> {
    try {
      await this.manager.register({
        url: node.url ?? archive.dir,
        modelName: node.modelName,
        handler: node.kind === 'function' ? `${archive.handler}:${node.name}` : undefined,
        batchSize: node.batchSize,
        maxBatchDelay: node.maxBatchDelay,
        initialWorkers: node.maxWorkers,
        responseTimeout: params.responseTimeout ?? 120,
        startupTimeout: params.startupTimeout ?? 120,
        synchronous: true,
      });
      return null;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log(`Workflow node ${node.modelName} failed to register: ${message}`);
      return `Workflow Node ${node.modelName} failed to register. Details: ${message}`;
    }
  }

  private async unregisterNodes(modelNames: readonly string[]): Promise<void> {
    await Promise.all(
      modelNames.map(async (m) => {
        try {
          await this.manager.unregister(m, null);
        } catch (err) {
          // Already unregistered through the models API: nothing left to do.
          if (!(err instanceof ServeError && err.status === 404)) this.log(`Could not unregister workflow model ${m}: ${(err as Error).message}`);
        }
      }),
    );
  }

  /** `DELETE /workflows/{name}`: the workflow, its node models and its extracted archive. */
  async unregister(name: string): Promise<{ status: number; message: string }> {
    const wf = this.get(name);
    this.workflows.delete(name);
    const modelNames = wf.spec.nodes.map((n) => n.modelName);
    await this.unregisterNodes(modelNames);
    releaseWorkflowNodes(this.manager, modelNames);
    await wf.archive.dispose();
    return { status: 200, message: `Workflow "${name}" unregistered` };
  }

  /** `GET /workflows`: TorchServe's paging, including its `nextPageToken` on an exactly full last page. */
  list(limit: number, pageToken: number): Record<string, unknown> {
    const lim = limit > 100 || limit < 0 ? 100 : limit;
    const start = pageToken < 0 ? 0 : pageToken;
    const keys = this.names();
    const out: Record<string, unknown> = {};
    let last = start + lim;
    if (last > keys.length) last = keys.length;
    else out.nextPageToken = String(last);
    out.workflows = keys.slice(start, last).map((k) => ({ workflowName: k, workflowUrl: this.workflows.get(k)!.archive.url }));
    return out;
  }

  /** `GET /workflows/{name}`. */
  describe(name: string): Array<Record<string, unknown>> {
    const wf = this.get(name);
    const s = wf.spec.settings;
    return [
      {
        workflowName: name,
        workflowUrl: wf.archive.url,
        minWorkers: s.minWorkers,
        maxWorkers: s.maxWorkers,
        batchSize: s.batchSize,
        maxBatchDelay: s.maxBatchDelay,
        workflowDag: wf.spec.dagText,
      },
    ];
  }

  /**
   * `/wfpredict/{name}`: one leaf → its bytes; several → `{"<leaf>": <its JSON>, ...}`. A node that fails
   * (after its retries) fails the request with 500 "Error executing <node>", as TorchServe.
   */
  async predict(name: string, request: WireRequest): Promise<WorkflowAnswer> {
    const wf = this.get(name);
    const leaves = await executeDag(wf.spec, request, (node, req) => this.invoke(name, node, req));
    if (leaves.length === 1) return { body: leaves[0]!.output, contentType: 'application/json' };
    const order = new Map(wf.spec.leaves.map((l, i) => [l, i]));
    leaves.sort((a, b) => order.get(a.node)! - order.get(b.node)!);
    const result: Record<string, unknown> = {};
    for (const leaf of leaves) {
      try {
        result[leaf.node] = JSON.parse(Buffer.from(leaf.output).toString('utf8'));
      } catch {
        throw new InternalServerException(`The answer of workflow node ${leaf.node} is not JSON`);
      }
    }
    return { body: Buffer.from(pretty(result)), contentType: 'application/json' };
  }

  /** DagExecutor.invokeModel: one try plus `retry-attempts` retries, each limited to `timeout-ms`. */
  private async invoke(workflow: string, node: WorkflowNode, request: WireRequest): Promise<Uint8Array> {
    let reason = '';
    for (let attempt = 0; attempt <= node.retryAttempts; attempt++) {
      let submission;
      try {
        submission = submitPrediction({ manager: this.manager, metrics: this.metrics }, node.modelName, null, request);
      } catch (err) {
        // Model gone (unregistered through the models API), no worker, queue full: no retry.
        const e = err instanceof ServeError ? err : new InternalServerException(String(err));
        throw new InternalServerException(e.message);
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), node.timeoutMs)));
      const outcome = await Promise.race([submission.outcome, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        submission.job.cancelled = true;
        submission.finished(null);
        reason = `timed out after ${node.timeoutMs} ms`;
      } else if (!outcome.ok) {
        submission.finished(outcome.error.status);
        reason = `${outcome.error.status} ${outcome.error.message}`;
      } else {
        submission.finished(outcome.response.status);
        if (outcome.response.status < 400) return outcome.response.body;
        reason = `${outcome.response.status} ${Buffer.from(outcome.response.body).toString('utf8').slice(0, 500)}`;
      }
      this.log(`Workflow ${workflow}: node ${node.name}, attempt ${attempt + 1} of ${node.retryAttempts + 1}, failed: ${reason}`);
    }
    throw new InternalServerException(`Error executing ${node.name}`);
  }

  /** Server shutdown: the model manager stops the nodes' workers; the extracted archives go here. */
  async shutdown(): Promise<void> {
    const all = [...this.workflows.values()];
    this.workflows.clear();
    await Promise.all(all.map((wf) => wf.archive.dispose().catch(() => undefined)));
  }
}

/** One WorkflowManager per model manager (so the HTTP layer needs no new dependency). */
const managers = new WeakMap<ModelManager, WorkflowManager>();

export function workflowManagerFor(manager: ModelManager, metrics: ServerMetrics, log?: (message: string) => void): WorkflowManager {
  let wm = managers.get(manager);
  if (!wm) managers.set(manager, (wm = new WorkflowManager(manager, metrics, log)));
  return wm;
}

/** The manager's WorkflowManager if one was created (for shutdown). */
export function existingWorkflowManager(manager: ModelManager): WorkflowManager | undefined {
  return managers.get(manager);
}

