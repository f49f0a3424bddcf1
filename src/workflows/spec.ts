/**
 * The workflow specification YAML (spec §10), read as TorchServe 0.12's `WorkFlow` constructor reads it,
 * and its DAG checked as `Dag.addEdge` / `Dag.validate` check it.
 *
 * TorchServe's rules, kept:
 * - `models:` holds the global settings (`min-workers` 1, `max-workers` 1, `batch-size` 1,
 *   `max-batch-delay` 50, `retry-attempts` 1, `timeout-ms` 10000) and one map per model with its `url` and
 *   its own overrides. A global applies to the models listed after it (the keys are read in order).
 * - Every `dag:` key and every child it names is a node. A node named in `models:` is a model node; any
 *   other is a function node: the function of that name in the workflow handler, served with 1 worker,
 *   batch size 1, max batch delay 0 and the global retry attempts and timeout.
 * - Each node is a model named `<workflow>__<node>`. Models of `models:` that no DAG node uses are ignored.
 * - A self loop ("Self loop exception"), an edge back along an existing edge ("loop exception"), more or
 *   fewer than one start node ("DAG should have only one start node") and any other cycle ("Not a valid
 *   DAG") are InvalidDAGException (400).
 *
 * ortserve adds checks TorchServe leaves to a NullPointerException or ClassCastException (a 500, or a
 * registration that fails half-way): the document and its sections must be maps, settings integers,
 * URLs strings, children lists of names; a `dag:` key with no children is a leaf.
 */
import { parse as parseYaml } from 'yaml';
import { InvalidDAGException, InvalidWorkflowException } from './errors.js';

export interface WorkflowSettings {
  minWorkers: number;
  maxWorkers: number;
  batchSize: number;
  maxBatchDelay: number;
  retryAttempts: number;
  timeoutMs: number;
}

export const WORKFLOW_DEFAULTS: Readonly<WorkflowSettings> = {
  minWorkers: 1,
  maxWorkers: 1,
  batchSize: 1,
  maxBatchDelay: 50,
  retryAttempts: 1,
  timeoutMs: 10000,
};

const SETTING_KEYS: Record<string, keyof WorkflowSettings> = {
  'min-workers': 'minWorkers',
  'max-workers': 'maxWorkers',
  'batch-size': 'batchSize',
  'max-batch-delay': 'maxBatchDelay',
  'retry-attempts': 'retryAttempts',
  'timeout-ms': 'timeoutMs',
};

export interface WorkflowNode extends WorkflowSettings {
  /** The DAG node's name. */
  name: string;
  /** The registered model: `<workflow>__<node>`. */
  modelName: string;
  kind: 'model' | 'function';
  /** The model archive's url (model nodes). */
  url: string | null;
}

export interface WorkflowSpec {
  /** The global settings as read (what `GET /workflows/{name}` reports). */
  settings: WorkflowSettings;
  /** Every node, in the order the DAG names them. */
  nodes: WorkflowNode[];
  children: Map<string, string[]>;
  parents: Map<string, string[]>;
  start: string;
  leaves: string[];
  /** The `dag` section as Java's `Map.toString` prints it (`workflowDag` of the describe API). */
  dagText: string;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function integer(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidWorkflowException(`${what} must be an integer, got ${JSON.stringify(v)}.`);
  return v;
}

/** Java's `toString` of what SnakeYAML builds: LinkedHashMap `{k=v, ...}`, ArrayList `[a, b]`. */
export function javaToString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(javaToString).join(', ')}]`;
  if (isMap(v)) return `{${Object.entries(v).map(([k, x]) => `${k}=${javaToString(x)}`).join(', ')}}`;
  return String(v);
}

/** Parses the YAML text; throws InvalidWorkflowException / InvalidDAGException (400). */
export function parseWorkflowSpec(text: string, workflowName: string): WorkflowSpec {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InvalidWorkflowException(`Failed to parse yaml. ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isMap(doc)) throw new InvalidWorkflowException('Failed to parse yaml. The workflow specification must be a map with "models" and "dag".');
  const modelsInfo = doc.models ?? {};
  if (!isMap(modelsInfo)) throw new InvalidWorkflowException('The "models" section of the workflow specification must be a map.');
  const dagInfo = doc.dag;
  if (!isMap(dagInfo)) throw new InvalidWorkflowException('The workflow specification has no "dag" map.');

  const settings: WorkflowSettings = { ...WORKFLOW_DEFAULTS };
  const models = new Map<string, WorkflowNode>();
  for (const [key, value] of Object.entries(modelsInfo)) {
    const setting = SETTING_KEYS[key];
    if (setting) {
      settings[setting] = integer(value, `models.${key}`);
      continue;
    }
    if (!isMap(value)) throw new InvalidWorkflowException(`Model "${key}" of the workflow specification must be a map with a "url".`);
    if (typeof value.url !== 'string' || value.url === '') throw new InvalidWorkflowException(`Model "${key}" of the workflow specification has no "url".`);
    const own = { ...settings };
    for (const [k, s] of Object.entries(SETTING_KEYS)) if (value[k] !== undefined) own[s] = integer(value[k], `models.${key}.${k}`);
    models.set(key, { name: key, modelName: `${workflowName}__${key}`, kind: 'model', url: value.url, ...own });
  }

  const nodes = new Map<string, WorkflowNode>();
  const children = new Map<string, string[]>();
  const parents = new Map<string, string[]>();
  const addNode = (name: string): void => {
    if (nodes.has(name)) return;
    const node = models.get(name) ?? {
      name,
      modelName: `${workflowName}__${name}`,
      kind: 'function' as const,
      url: null,
      minWorkers: 1,
      maxWorkers: 1,
      batchSize: 1,
      maxBatchDelay: 0,
      retryAttempts: settings.retryAttempts,
      timeoutMs: settings.timeoutMs,
    };
    nodes.set(name, node);
    children.set(name, []);
    parents.set(name, []);
  };
  for (const [from, value] of Object.entries(dagInfo)) {
    addNode(from);
    if (value === null || value === undefined) continue;
    if (!Array.isArray(value)) throw new InvalidWorkflowException(`DAG node "${from}" must list its children, e.g. ${from}: [next_node].`);
    for (const raw of value) {
      if (raw === null || raw === undefined) continue;
      if (typeof raw !== 'string') throw new InvalidWorkflowException(`DAG node "${from}" lists ${JSON.stringify(raw)}, which is not a node name.`);
      const to = raw.trim();
      if (to === '') continue;
      addNode(to);
      if (to === from) throw new InvalidDAGException('Self loop exception');
      if (children.get(to)!.includes(from)) throw new InvalidDAGException('loop exception');
      if (!children.get(from)!.includes(to)) {
        children.get(from)!.push(to);
        parents.get(to)!.push(from);
      }
    }
  }
  const starts = [...nodes.keys()].filter((n) => parents.get(n)!.length === 0);
  if (starts.length !== 1) throw new InvalidDAGException('DAG should have only one start node');
  // Kahn's algorithm: a node left out is on a cycle.
  const inDegree = new Map([...parents].map(([n, p]) => [n, p.length]));
  const ready = [...starts];
  let sorted = 0;
  while (ready.length > 0) {
    const n = ready.shift()!;
    sorted++;
    for (const c of children.get(n)!) {
      inDegree.set(c, inDegree.get(c)! - 1);
      if (inDegree.get(c) === 0) ready.push(c);
    }
  }
  if (sorted !== nodes.size) throw new InvalidDAGException('Not a valid DAG');
  return {
    settings,
    nodes: [...nodes.values()],
    children,
    parents,
    start: starts[0]!,
    leaves: [...nodes.keys()].filter((n) => children.get(n)!.length === 0),
    dagText: javaToString(dagInfo),
  };
}
