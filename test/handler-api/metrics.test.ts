/**
 * `context.metrics` (handler-api/metrics.ts), TorchServe's MetricsCacheYamlImpl: what a handler's calls
 * turn into, as the worker sends them to the server (`takeUpdates`).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CachingMetric, Dimension, MetricsCache, MetricsCacheError, MetricTypes, type MetricUpdate } from '../../src/handler-api/metrics.js';

/** Captures console.error (the cache reports dropped updates there, as TorchServe logs them). */
let errors: string[] = [];
const realError = console.error;
beforeEach(() => {
  errors = [];
  console.error = (...args: unknown[]) => void errors.push(args.map(String).join(' '));
});
afterEach(() => {
  console.error = realError;
});

function cache(declared: ConstructorParameters<typeof MetricsCache>[1] = []): MetricsCache {
  const c = new MetricsCache('m', declared);
  c.setRequestIds({ 0: 'id-0', 1: 'id-1', 2: 'id-2' });
  return c;
}

const update = (u: Partial<MetricUpdate> & Pick<MetricUpdate, 'name' | 'value'>): MetricUpdate => ({
  type: 'counter',
  unit: 'count',
  dimensionNames: ['ModelName', 'Level'],
  dimensionValues: ['m', 'Model'],
  requestId: 'id-0',
  ...u,
});

describe('MetricsCache dimensions', () => {
  it('appends ModelName=<model> and Level=Model after the given dimensions', () => {
    const c = cache();
    c.addCounter('Hits', 1, 0);
    c.addCounter('Staged', 3, 1, [new Dimension('Stage', 'a')]);
    assert.deepEqual(c.takeUpdates(), [
      update({ name: 'Hits', value: 1 }),
      update({ name: 'Staged', value: 3, dimensionNames: ['Stage', 'ModelName', 'Level'], dimensionValues: ['a', 'm', 'Model'], requestId: 'id-1' }),
    ]);
  });

  it('does not add ModelName or Level again when the handler gives them', () => {
    const c = cache();
    c.addCounter('Own', 1, 0, [new Dimension('Level', 'Custom'), new Dimension('ModelName', 'other')]);
    c.addCounter('Half', 1, 0, [new Dimension('Level', 'Batch')]);
    assert.deepEqual(c.takeUpdates(), [
      update({ name: 'Own', value: 1, dimensionNames: ['Level', 'ModelName'], dimensionValues: ['Custom', 'other'] }),
      update({ name: 'Half', value: 1, dimensionNames: ['Level', 'ModelName'], dimensionValues: ['Batch', 'm'] }),
    ]);
  });

  it("orders the values by the metric's own dimension order when the names are given in another order", () => {
    const c = cache([{ name: 'Ordered', type: 'counter', unit: 'count', dimensions: ['Level', 'Stage', 'ModelName'] }]);
    c.addCounter('Ordered', 4, 2, [new Dimension('Stage', 's1')]);
    assert.deepEqual(c.takeUpdates(), [
      update({ name: 'Ordered', value: 4, dimensionNames: ['Level', 'Stage', 'ModelName'], dimensionValues: ['Model', 's1', 'm'], requestId: 'id-2' }),
    ]);
  });

  it('drops an update whose dimension count does not match the metric (error line, no update)', () => {
    const c = cache([{ name: 'Three', type: 'counter', unit: 'count', dimensions: ['ModelName', 'Level', 'Stage'] }]);
    c.addCounter('Three', 1, 0);
    c.getMetric('Three').addOrUpdate(1, ['m', 'Model']);
    assert.deepEqual(c.takeUpdates(), []);
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /Failed to update metric with name:Three/);
    assert.match(errors[0]!, /should correspond to Dimension names: \[ModelName, Level, Stage\]/);
  });
});

describe('MetricsCache declared metrics and units', () => {
  it('getMetric finds metrics declared through the constructor, by type and name', () => {
    const c = new MetricsCache('m', [
      { name: 'HandlerTime', type: 'gauge', unit: 'ms', dimensions: ['ModelName', 'Level'] },
      { name: 'Sizes', type: 'histogram', unit: 'chars', dimensions: [] },
    ]);
    const gauge = c.getMetric('HandlerTime', MetricTypes.GAUGE);
    assert.ok(gauge instanceof CachingMetric);
    assert.equal(gauge.metricName, 'HandlerTime');
    assert.equal(gauge.unit, 'ms');
    assert.equal(gauge.metricType, 'gauge');
    assert.deepEqual(gauge.dimensionNames, ['ModelName', 'Level']);
    assert.equal(c.getMetric('Sizes', 'histogram').unit, 'chars');
  });

  it('getMetric throws MetricsCacheError for an unknown name or the wrong type', () => {
    const c = new MetricsCache('m', [{ name: 'HandlerTime', type: 'gauge', unit: 'ms', dimensions: [] }]);
    assert.throws(() => c.getMetric('Nope', 'gauge'), MetricsCacheError);
    assert.throws(() => c.getMetric('HandlerTime'), (e: unknown) => e instanceof MetricsCacheError && /type 'counter' and name 'HandlerTime'/.test(e.message));
  });

  it("addTime accepts ms and s and throws on 'min'", () => {
    const c = cache();
    c.addTime('T1', 1.5, 0);
    c.addTime('T2', 2, 0, 's');
    assert.throws(() => c.addTime('T3', 1, 0, 'min'), MetricsCacheError);
    assert.deepEqual(
      c.takeUpdates().map((u) => [u.name, u.type, u.unit, u.value]),
      [['T1', 'gauge', 'ms', 1.5], ['T2', 'gauge', 's', 2]],
    );
  });

  it('addSize accepts MB (default), kB, GB and B and throws on anything else', () => {
    const c = cache();
    c.addSize('S', 1, 0);
    for (const unit of ['kB', 'GB', 'B']) c.addSize(`S${unit}`, 2, 0, unit);
    for (const unit of ['KB', 'mb', 'TB', 'bytes']) assert.throws(() => c.addSize('Bad', 1, 0, unit), MetricsCacheError, unit);
    assert.deepEqual(
      c.takeUpdates().map((u) => [u.name, u.type, u.unit]),
      [['S', 'gauge', 'MB'], ['SkB', 'gauge', 'kB'], ['SGB', 'gauge', 'GB'], ['SB', 'gauge', 'B']],
    );
  });

  it('addPercent and addMetric use their units and types', () => {
    const c = cache();
    c.addPercent('P', 55.5, 0);
    c.addMetric('Len', 12, 'chars', 1, [], MetricTypes.HISTOGRAM);
    c.addMetric('Plain', 3, 'things');
    assert.deepEqual(
      c.takeUpdates().map((u) => [u.name, u.type, u.unit, u.value, u.requestId]),
      [['P', 'gauge', 'percent', 55.5, 'id-0'], ['Len', 'histogram', 'chars', 12, 'id-1'], ['Plain', 'counter', 'things', 3, 'id-0,id-1,id-2']],
    );
  });

  it('drops a negative counter increment with an error line, but keeps a negative gauge', () => {
    const c = cache();
    c.addCounter('C', -1, 0);
    assert.deepEqual(c.takeUpdates(), []);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /Counter metric update value cannot be negative/);
    c.addCounter('C', 0, 0);
    c.addTime('G', -2, 0);
    assert.deepEqual(c.takeUpdates().map((u) => [u.name, u.value]), [['C', 0], ['G', -2]]);
  });

  it('drops non-finite values', () => {
    const c = cache();
    c.addTime('G', Number.NaN, 0);
    c.addCounter('C', Number.POSITIVE_INFINITY, 0);
    assert.deepEqual(c.takeUpdates(), []);
    assert.equal(errors.length, 2);
  });
});

describe('MetricsCache request ids and the update list', () => {
  it("idx gives that request's id; null gives every id of the batch joined with ','", () => {
    const c = cache();
    c.addCounter('A', 1, 1);
    c.addCounter('A', 1, null);
    c.addCounter('A', 1);
    assert.deepEqual(c.takeUpdates().map((u) => u.requestId), ['id-1', 'id-0,id-1,id-2', 'id-0,id-1,id-2']);
    c.setRequestIds({ 0: 'only' });
    c.addCounter('A', 1, null);
    c.addCounter('A', 1, 0);
    assert.deepEqual(c.takeUpdates().map((u) => u.requestId), ['only', 'only']);
  });

  it('takeUpdates returns the updates in order and empties the list', () => {
    const c = cache();
    c.addCounter('A', 1, 0);
    c.addCounter('B', 2, 0);
    assert.deepEqual(c.takeUpdates().map((u) => [u.name, u.value]), [['A', 1], ['B', 2]]);
    assert.deepEqual(c.takeUpdates(), []);
    c.addCounter('C', 5, 0);
    assert.deepEqual(c.takeUpdates().map((u) => u.name), ['C']);
  });

  it('update() with Dimension objects replaces the dimension names of the metric', () => {
    const c = cache();
    const metric = c.addMetricToCache('Legacy', 'count', ['ModelName', 'Level'], 'counter');
    metric.update(7, 'req-x', [new Dimension('Color', 'red'), new Dimension('Size', 'L')]);
    assert.deepEqual(metric.dimensionNames, ['Color', 'Size']);
    metric.update(1, 'req-y');
    assert.deepEqual(metric.dimensionNames, []);
    assert.deepEqual(c.takeUpdates(), [
      update({ name: 'Legacy', value: 7, dimensionNames: ['Color', 'Size'], dimensionValues: ['red', 'L'], requestId: 'req-x' }),
      update({ name: 'Legacy', value: 1, dimensionNames: [], dimensionValues: [], requestId: 'req-y' }),
    ]);
  });

  it('an undeclared metric takes the dimensions of its first update', () => {
    const c = cache();
    c.addCounter('Auto', 1, 0, [new Dimension('Stage', 'a')]);
    assert.deepEqual(c.getMetric('Auto').dimensionNames, ['Stage', 'ModelName', 'Level']);
    c.addCounter('Auto', 1, 0);
    // Two dimensions for a three-dimension metric: dropped.
    assert.deepEqual(c.takeUpdates().map((u) => u.dimensionValues), [['a', 'm', 'Model']]);
    assert.equal(errors.length, 1);
  });
});
