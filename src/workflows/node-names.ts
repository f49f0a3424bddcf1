/**
 * The model names a server's workflows use for their nodes (`<workflow>__<node>`), reserved before the
 * nodes are registered and released after they are unregistered. Snapshots leave these models out, as
 * TorchServe's SnapshotManager skips workflow models: a workflow is not restored after a restart, so
 * neither are its nodes.
 */
const byManager = new WeakMap<object, Set<string>>();

function names(manager: object): Set<string> {
  let set = byManager.get(manager);
  if (!set) byManager.set(manager, (set = new Set()));
  return set;
}

export function reserveWorkflowNodes(manager: object, modelNames: readonly string[]): void {
  for (const n of modelNames) names(manager).add(n);
}

export function releaseWorkflowNodes(manager: object, modelNames: readonly string[]): void {
  for (const n of modelNames) names(manager).delete(n);
}

/** True when `modelName` is (or is about to be) a node of one of `manager`'s workflows. */
export function isWorkflowNode(manager: object, modelName: string): boolean {
  return byManager.get(manager)?.has(modelName) ?? false;
}
