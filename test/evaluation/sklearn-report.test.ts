/**
 * The per-class table and its averages against scikit-learn's own classification_report on the same
 * labels. The reference values were computed by scikit-learn (test/evaluation/fixtures/sklearn_reference.py,
 * committed with its output); when scikit-learn is installed, the script is run again here so the
 * committed file cannot go stale.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { classificationReport } from '../../src/evaluation/classification-report.js';
import { classificationMetrics } from '../../src/evaluation/metrics.js';

interface SkRow {
  precision: number;
  recall: number;
  'f1-score': number;
  support: number;
}
interface SkCase {
  name: string;
  actual: string[];
  predicted: string[];
  report: Record<string, SkRow | number>;
  balanced_accuracy: number;
  mcc: number;
}

const FIXTURES = fileURLToPath(new URL('../../../test/evaluation/fixtures/', import.meta.url));
const committed = JSON.parse(readFileSync(`${FIXTURES}sklearn-report.json`, 'utf8')) as { cases: SkCase[] };

const close = (got: number, expected: number, what: string): void => assert.ok(Math.abs(got - expected) < 1e-12, `${what}: ${got}, scikit-learn ${expected}`);

function check(c: SkCase): void {
  const m = classificationMetrics(c.actual, c.predicted);
  const r = classificationReport(m);
  const sk = c.report;
  const skClasses = Object.keys(sk).filter((k) => !['accuracy', 'macro avg', 'weighted avg'].includes(k));
  assert.deepEqual(r.classes.map((x) => x.name), skClasses.sort(), `${c.name}: the classes`);
  const rows = [...r.classes, r.macroAvg, r.weightedAvg];
  for (const row of rows) {
    const ref = sk[row.name] as SkRow;
    close(row.precision, ref.precision, `${c.name} ${row.name} precision`);
    close(row.recall, ref.recall, `${c.name} ${row.name} recall`);
    close(row.f1, ref['f1-score'], `${c.name} ${row.name} F1`);
    assert.equal(row.support, ref.support, `${c.name} ${row.name} support`);
  }
  close(r.accuracy, sk.accuracy as number, `${c.name} accuracy`);
  close(m.balancedAccuracy, c.balanced_accuracy, `${c.name} balanced accuracy`);
  close(m.mcc, c.mcc, `${c.name} MCC`);
}

describe("scikit-learn's classification_report", () => {
  it('per-class rows, accuracy, macro and weighted averages match the committed scikit-learn values', () => {
    assert.ok(committed.cases.length >= 4);
    for (const c of committed.cases) check(c);
  });

  it('match scikit-learn run now, when it is installed', (t) => {
    const probe = spawnSync('python3', ['-c', 'import sklearn'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      t.skip('scikit-learn is not installed (pip install scikit-learn); the committed values were checked above');
      return;
    }
    const run = spawnSync('python3', [`${FIXTURES}sklearn_reference.py`], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const fresh = JSON.parse(run.stdout) as { cases: SkCase[] };
    for (const c of fresh.cases) check(c);
  });
});
