/**
 * Runs a workflow's DAG for one request, as TorchServe 0.12's DagExecutor does:
 * - the start node gets the request's headers and parameters;
 * - a node with one parent gets the parent's answer as the parameter `body`; a node with several
 *   parents gets one parameter per parent, named after the parent node (bytes, no content type);
 * - every node gets the request's headers;
 * - nodes run as soon as all their parents have answered, independent branches concurrently;
 * - the leaves' answers are the result; the first node failure fails the run.
 */
import { randomUUID } from 'node:crypto';
import type { WireParameter, WireRequest } from '../workers/messages.js';
import type { WorkflowNode, WorkflowSpec } from './spec.js';

export interface LeafOutput {
  node: string;
  output: Uint8Array;
}

export type NodeInvoker = (node: WorkflowNode, request: WireRequest) => Promise<Uint8Array>;

export function executeDag(spec: WorkflowSpec, input: WireRequest, invoke: NodeInvoker): Promise<LeafOutput[]> {
  const nodes = new Map(spec.nodes.map((n) => [n.name, n]));
  const waiting = new Map([...spec.parents].map(([n, p]) => [n, p.length]));
  const inputs = new Map<string, WireParameter[]>();
  return new Promise((resolve, reject) => {
    const leaves: LeafOutput[] = [];
    let running = 0;
    let failed = false;
    const launch = (name: string, parameters: WireParameter[]): void => {
      running++;
      const request: WireRequest = { requestId: randomUUID(), headers: { ...input.headers }, parameters };
      invoke(nodes.get(name)!, request).then(
        (output) => {
          running--;
          if (failed) return;
          const children = spec.children.get(name)!;
          if (children.length === 0) leaves.push({ node: name, output });
          for (const child of children) {
            const params = inputs.get(child) ?? [];
            params.push({ name: spec.parents.get(child)!.length === 1 ? 'body' : name, contentType: null, value: output });
            inputs.set(child, params);
            const left = waiting.get(child)! - 1;
            waiting.set(child, left);
            if (left === 0) launch(child, params);
          }
          if (running === 0) resolve(leaves);
        },
        (err: unknown) => {
          running--;
          if (failed) return;
          failed = true;
          reject(err);
        },
      );
    };
    launch(spec.start, input.parameters);
  });
}
