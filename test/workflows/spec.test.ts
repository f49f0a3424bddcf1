/** The workflow spec YAML read as TorchServe's WorkFlow constructor reads it, and its DAG checks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { javaToString, parseWorkflowSpec } from '../../src/workflows/spec.js';

describe('parseWorkflowSpec', () => {
  it('applies TorchServe defaults, globals in key order, per-model overrides and function-node settings', () => {
    const spec = parseWorkflowSpec(
      `models:
  early: {url: early.mar}
  min-workers: 2
  max-workers: 3
  batch-size: 4
  timeout-ms: 500
  late: {url: late.mar, batch-size: 7}
dag:
  pre: [early, late]
  early: [post]
  late: [post]
`,
      'wf',
    );
    const byName = new Map(spec.nodes.map((n) => [n.name, n]));
    assert.deepEqual(spec.settings, { minWorkers: 2, maxWorkers: 3, batchSize: 4, maxBatchDelay: 50, retryAttempts: 1, timeoutMs: 500 });
    // A global applies to the models listed after it.
    assert.deepEqual({ ...byName.get('early') }, { name: 'early', modelName: 'wf__early', kind: 'model', url: 'early.mar', minWorkers: 1, maxWorkers: 1, batchSize: 1, maxBatchDelay: 50, retryAttempts: 1, timeoutMs: 10000 });
    assert.equal(byName.get('late')!.batchSize, 7);
    assert.equal(byName.get('late')!.maxWorkers, 3);
    assert.deepEqual({ ...byName.get('post') }, { name: 'post', modelName: 'wf__post', kind: 'function', url: null, minWorkers: 1, maxWorkers: 1, batchSize: 1, maxBatchDelay: 0, retryAttempts: 1, timeoutMs: 500 });
    assert.equal(spec.start, 'pre');
    assert.deepEqual(spec.leaves, ['post']);
    assert.deepEqual(spec.parents.get('post'), ['early', 'late']);
    assert.equal(spec.dagText, '{pre=[early, late], early=[post], late=[post]}');
  });

  it('refuses cycles and several start nodes with TorchServe messages', () => {
    const dag = (d: string): (() => unknown) => () => parseWorkflowSpec(`models: {}\ndag:\n${d}`, 'wf');
    const invalid = (message: string) => ({ type: 'InvalidDAGException', status: 400, message });
    assert.throws(dag('  a: [a]\n'), invalid('Self loop exception'));
    assert.throws(dag('  a: [b]\n  b: [a]\n'), invalid('loop exception'));
    assert.throws(dag('  s: [a]\n  a: [b]\n  b: [c]\n  c: [a]\n'), invalid('Not a valid DAG'));
    assert.throws(dag('  a: [c]\n  b: [c]\n'), invalid('DAG should have only one start node'));
  });

  it('refuses malformed specs with a 400 that says what is wrong', () => {
    const bad = (text: string, message: RegExp) => assert.throws(() => parseWorkflowSpec(text, 'wf'), { type: 'InvalidWorkflowException', status: 400, message });
    bad('models: [1\n', /^Failed to parse yaml\./);
    bad('models: {}\n', /no "dag" map/);
    bad('models: {m: {batch-size: 2}}\ndag: {m: []}\n', /Model "m" of the workflow specification has no "url"/);
    bad('models: {batch-size: two}\ndag: {m: []}\n', /models\.batch-size must be an integer/);
    bad('dag: {a: b}\n', /must list its children/);
  });

  it("prints maps and lists as Java's toString does", () => {
    assert.equal(javaToString({ a: ['b', 'c'], d: null, e: [] }), '{a=[b, c], d=null, e=[]}');
  });
});
