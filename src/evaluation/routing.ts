/**
 * `predict --route MODEL=LABEL`: a second-level model gets only the rows the first model (the first
 * `-m`) labelled LABEL, as a sub-taxonomy model is meant to see only its parent class's rows. Repeat
 * the option to route several labels, or several models.
 */
import type { RowOutcome } from '../client/batch-classify.js';

/** Routed model → the first model's labels whose rows it gets. */
export type Routes = ReadonlyMap<string, ReadonlySet<string>>;

/** A --route that does not name one of the models, or names the first one. */
export class RouteError extends Error {}

export function parseRoutes(exprs: readonly string[], models: readonly string[]): Routes {
  const routes = new Map<string, Set<string>>();
  for (const expr of exprs) {
    const eq = expr.indexOf('=');
    const model = expr.slice(0, eq).trim();
    const label = expr.slice(eq + 1).trim();
    if (eq <= 0 || label === '') throw new RouteError(`--route ${expr}: expected MODEL=LABEL`);
    if (!models.includes(model)) throw new RouteError(`--route ${expr}: ${model} is not one of the -m models (${models.join(', ')})`);
    if (model === models[0]) throw new RouteError(`--route ${expr}: ${model} is the first model, whose labels do the routing; route a later one`);
    let labels = routes.get(model);
    if (!labels) routes.set(model, (labels = new Set()));
    labels.add(label);
  }
  return routes;
}

/** The indices of the rows the first model labelled with one of `labels`. */
export function routedRows(first: readonly RowOutcome[], labels: ReadonlySet<string>): number[] {
  return first.flatMap((o, i) => (o.ok && o.predictions[0] !== undefined && labels.has(o.predictions[0].label) ? [i] : []));
}

/** A row not routed to a model: no label, and no error either. */
export const NOT_ROUTED: RowOutcome = { ok: true, predictions: [], latencyMs: 0 };
