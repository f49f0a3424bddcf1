/** Metrics against confusion matrices computed by hand (the arithmetic is in the comments). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarizeLatency, percentile } from '../../src/evaluation/latency.js';
import { classificationMetrics, gorodkinMcc } from '../../src/evaluation/metrics.js';

const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} is not ${expected}`);

/** Pairs from a confusion matrix (rows actual, columns predicted), interleaved so order does not matter. */
function pairsFrom(labels: string[], matrix: number[][]): { actual: string[]; predicted: string[] } {
  const pairs: Array<[string, string]> = [];
  matrix.forEach((row, i) => row.forEach((n, j) => {
    for (let k = 0; k < n; k++) pairs.push([labels[i]!, labels[j]!]);
  }));
  // A fixed shuffle: every 3rd pair first, then the rest.
  const shuffled = [...pairs.filter((_, i) => i % 3 === 0), ...pairs.filter((_, i) => i % 3 !== 0)];
  return { actual: shuffled.map((p) => p[0]), predicted: shuffled.map((p) => p[1]) };
}

describe('classification metrics', () => {
  it('2 classes, by hand', () => {
    //            predicted neg  pos
    // actual neg            5    1     (6)
    // actual pos            2    2     (4)
    // accuracy = 7/10.
    // neg: TP 5, FP 2, FN 1 → P 5/7, R 5/6, F1 2·5/(10+2+1) = 10/13.
    // pos: TP 2, FP 1, FN 2 → P 2/3, R 2/4, F1 4/(4+1+2) = 4/7.
    // balanced accuracy = (5/6 + 1/2)/2 = 2/3; macro-F1 = (10/13 + 4/7)/2 = 61/91;
    // macro P = (5/7 + 2/3)/2 = 29/42; weighted F1 = (6·10/13 + 4·4/7)/10 = 628/910.
    // MCC (pos positive: TP 2, TN 5, FP 1, FN 2) = (2·5 − 1·2)/√(3·4·6·7) = 8/√504.
    const { actual, predicted } = pairsFrom(['neg', 'pos'], [[5, 1], [2, 2]]);
    const m = classificationMetrics(actual, predicted);
    assert.deepEqual(m.labels, ['neg', 'pos']);
    assert.deepEqual(m.matrix, [[5, 1], [2, 2]]);
    assert.equal(m.total, 10);
    assert.equal(m.correct, 7);
    close(m.accuracy, 0.7, 'accuracy');
    close(m.balancedAccuracy, 2 / 3, 'balanced accuracy');
    close(m.macroF1, 61 / 91, 'macro-F1');
    close(m.macroPrecision, 29 / 42, 'macro precision');
    close(m.macroRecall, 2 / 3, 'macro recall');
    close(m.weightedF1, 628 / 910, 'weighted F1');
    close(m.mcc, 8 / Math.sqrt(504), 'MCC');
    const [neg, pos] = m.perClass;
    close(neg!.precision, 5 / 7, 'neg P');
    close(neg!.recall, 5 / 6, 'neg R');
    close(neg!.f1, 10 / 13, 'neg F1');
    assert.equal(neg!.support, 6);
    assert.equal(neg!.predicted, 7);
    close(pos!.precision, 2 / 3, 'pos P');
    close(pos!.recall, 1 / 2, 'pos R');
    close(pos!.f1, 4 / 7, 'pos F1');
    assert.equal(pos!.support, 4);
  });

  it('3 classes, by hand', () => {
    //          predicted a  b  c
    // actual a           3  1  0    (t = 4)
    // actual b           2  2  0    (t = 4)
    // actual c           0  1  1    (t = 2)
    //   column sums p:   5  4  1;   trace c = 6, total s = 10, accuracy 0.6.
    // a: TP 3, FP 2, FN 1 → P 3/5, R 3/4, F1 6/9.
    // b: TP 2, FP 2, FN 2 → P 1/2, R 1/2, F1 1/2.
    // c: TP 1, FP 0, FN 1 → P 1,   R 1/2, F1 2/3.
    // balanced accuracy = (3/4 + 1/2 + 1/2)/3 = 7/12; macro-F1 = (2/3 + 1/2 + 2/3)/3 = 11/18;
    // macro P = (0.6 + 0.5 + 1)/3 = 0.7; weighted F1 = (4·2/3 + 4·1/2 + 2·2/3)/10 = 0.6.
    // MCC (Gorodkin) = (c·s − Σp·t)/√((s² − Σp²)(s² − Σt²))
    //   = (60 − (20 + 16 + 2))/√((100 − 42)(100 − 36)) = 22/√(58·64) = 22/(8√58).
    const { actual, predicted } = pairsFrom(['a', 'b', 'c'], [[3, 1, 0], [2, 2, 0], [0, 1, 1]]);
    const m = classificationMetrics(actual, predicted);
    assert.deepEqual(m.matrix, [[3, 1, 0], [2, 2, 0], [0, 1, 1]]);
    close(m.accuracy, 0.6, 'accuracy');
    close(m.balancedAccuracy, 7 / 12, 'balanced accuracy');
    close(m.macroF1, 11 / 18, 'macro-F1');
    close(m.macroPrecision, 0.7, 'macro precision');
    close(m.macroRecall, 7 / 12, 'macro recall');
    close(m.weightedF1, 0.6, 'weighted F1');
    close(m.mcc, 22 / (8 * Math.sqrt(58)), 'MCC');
    const expected = [
      ['a', 3 / 5, 3 / 4, 6 / 9, 4],
      ['b', 1 / 2, 1 / 2, 1 / 2, 4],
      ['c', 1, 1 / 2, 2 / 3, 2],
    ] as const;
    expected.forEach(([label, p, r, f1, support], i) => {
      const c = m.perClass[i]!;
      assert.equal(c.label, label);
      close(c.precision, p, `${label} P`);
      close(c.recall, r, `${label} R`);
      close(c.f1, f1, `${label} F1`);
      assert.equal(c.support, support);
    });
  });

  it('a class that is only predicted: zero precision, left out of balanced accuracy, kept in macro-F1', () => {
    // actual  x x y y
    // predict x z y y   → classes x, y, z.
    // x: TP 1, FN 1 → R 1/2, P 1, F1 2/3;  y: R 1, P 1, F1 1;  z: TP 0, FP 1, no support → P 0, R 0 (0/0), F1 0.
    // balanced accuracy = mean recall over x and y = (1/2 + 1)/2 = 3/4; macro-F1 = (2/3 + 1 + 0)/3 = 5/9.
    const m = classificationMetrics(['x', 'x', 'y', 'y'], ['x', 'z', 'y', 'y']);
    assert.deepEqual(m.labels, ['x', 'y', 'z']);
    close(m.balancedAccuracy, 3 / 4, 'balanced accuracy');
    close(m.macroF1, 5 / 9, 'macro-F1');
    const z = m.perClass[2]!;
    assert.deepEqual([z.precision, z.recall, z.f1, z.support, z.predicted], [0, 0, 0, 0, 1]);
  });

  it('MCC is 1 when perfect, −1 when inverted and 0 when every prediction is one class', () => {
    assert.equal(classificationMetrics(['a', 'b', 'c'], ['a', 'b', 'c']).mcc, 1);
    close(classificationMetrics(['a', 'b', 'a', 'b'], ['b', 'a', 'b', 'a']).mcc, -1, 'inverted');
    // p = [3, 0]: s² − Σp² = 9 − 9 = 0, a zero denominator: 0 (scikit-learn's convention).
    assert.equal(classificationMetrics(['a', 'b', 'a'], ['a', 'a', 'a']).mcc, 0);
    assert.equal(gorodkinMcc([[0, 0], [0, 0]]), 0);
  });

  it('refuses empty or mismatched inputs', () => {
    assert.throws(() => classificationMetrics([], []), /no rows/);
    assert.throws(() => classificationMetrics(['a'], []), /1 actual labels but 0 predicted/);
  });
});

describe('latency percentiles', () => {
  it('interpolates between the closest ranks', () => {
    // [10, 20, 30, 40]: p50 at rank 1.5 → 25; p90 at rank 2.7 → 37; p99 at rank 2.97 → 39.7.
    const s = summarizeLatency([40, 10, 30, 20]);
    close(s.p50, 25, 'p50');
    close(s.p90, 37, 'p90');
    close(s.p99, 39.7, 'p99');
    assert.equal(s.max, 40);
    assert.equal(s.mean, 25);
    assert.equal(s.count, 4);
  });

  it('handles one value and none', () => {
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.deepEqual(summarizeLatency([]), { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });
});
