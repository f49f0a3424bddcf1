/**
 * Issue 16's report (bench/report-issue16.ts) judges made-up runs as the issue's targets say: the
 * better peer is the one with more requests/s, the floor comparison is a median of paired differences,
 * memory is peak RSS against the single-process peer, and runs with failed requests are never "met".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions } from '../../bench/options.js';
import type { LoadResult } from '../../bench/load.js';
import type { TargetRun } from '../../bench/lib/target-load.js';
import { chosenLayout, renderIssue16 } from '../../bench/report-issue16.js';
import type { BenchReport } from '../../bench/sections.js';

function run(section: string, target: string, concurrency: number, rps: number, p50: number, p99: number, rss: number, errors: Record<string, number> = {}): TargetRun {
  const load: LoadResult = {
    concurrency,
    seconds: 10,
    requests: rps * 10,
    ok: rps * 10,
    requestsPerSec: rps,
    sequencesPerSec: rps,
    latency: { count: rps * 10, mean: p50, p50, p90: p99, p99, max: p99 },
    errors,
    loadGenCpu: 0.1,
  };
  // PSS: a fixed 100 MiB below RSS, as if each server mapped 100 MiB twice.
  return { section, target, concurrency, load, cpu: 1, mainCpuMsPerRequest: 0.1, rssMaxMiB: rss, pssMaxMiB: rss - 100 };
}

function report(extra: Partial<BenchReport>): BenchReport {
  return {
    options: parseOptions(['--quick']),
    startedAt: '2026-12-07T21:00:00.000Z',
    elapsedSec: 1,
    machine: { cores: 2, cpu: 'test', memGiB: 1, node: 'v20', ort: '1', busyBefore: 0, commit: 'x' },
    raw: {},
    runs: [],
    ratios: [],
    delay: null,
    c1Pairs: {},
    sharing: {},
    failures: [],
    ...extra,
  };
}

/** The verdict column of the target whose first cell starts with `prefix`. */
function verdictOf(out: string[], prefix: string): string {
  const lines = out.join('\n').split('\n');
  const row = lines.find((l) => l.startsWith(`| ${prefix}`));
  assert.ok(row, `a target row starting with "${prefix}" in:\n${lines.join('\n')}`);
  return row.split('|').map((c) => c.trim()).at(-2)!;
}

test('peer targets: the better peer, p99, memory and the floor pairs', () => {
  const runs = [
    // c32: ortserve 100 req/s; peer 1×2 80 (p99 500), peer 2×1 90 (p99 400): the better peer is 2×1, 100/90 = 1.11.
    run('peer c32', 'ortserve', 32, 100, 300, 350, 300),
    run('peer c32', 'peer 1 × 2', 32, 80, 350, 500, 250),
    run('peer c32', 'peer 2 × 1', 32, 90, 330, 400, 450),
    // c1, two repeats: ortserve − floor = +0.1 and +0.5 ms → median +0.3 ms, over the 0.2 ms bound.
    run('peer c1', 'ortserve', 1, 70, 13.1, 20, 310),
    run('peer c1', 'floor', 1, 70, 13.0, 20, 200),
    run('peer c1', 'ortserve', 1, 70, 13.5, 20, 305),
    run('peer c1', 'floor', 1, 70, 13.0, 20, 200),
    run('peer c1', 'peer 1 × 2', 1, 70, 12.5, 20, 240),
  ];
  const lines = renderIssue16(report({ peer: { model: 'base-int8', runs, disagreements: [], ortserveDescribe: [{ workers: [{}, {}] }] } }));
  const text = lines.join('\n');
  assert.match(text, /the better peer's \(peer 2 × 1\) at c32 \| 100\.0 ÷ 90\.0 = 1\.11/);
  assert.equal(verdictOf(lines, "ortserve req/s ÷ the better peer's"), 'met');
  assert.equal(verdictOf(lines, "ortserve p99 at c32 below both peers'"), 'met');
  // Peak RSS: ortserve's max over its runs (310) against the single-process peer's max (250): 1.24.
  assert.match(text, /310 ÷ 250 MiB = 1\.24/);
  assert.equal(verdictOf(lines, 'ortserve peak RSS'), 'met');
  // PSS: 210 ÷ 150 = 1.40.
  assert.match(text, /210 ÷ 150 MiB = 1\.40/);
  assert.equal(verdictOf(lines, 'ortserve peak PSS'), 'not met');
  assert.match(text, /\+0\.30 ms \(median of 2 paired differences\)/);
  assert.equal(verdictOf(lines, 'p50 at c1 ≤ floor p50 + 0.2 ms'), 'not met');
  // 13.3 (median of 13.1, 13.5) is not below the peer's 12.5.
  assert.equal(verdictOf(lines, "p50 at c1 below the single-process peer's"), 'not met');
  assert.match(text, /All servers gave the same answers/);
});

test('a target resting on runs with failed requests is not met, whatever the numbers', () => {
  const runs = [
    run('peer c32', 'ortserve', 32, 500, 1, 2, 100, { '503': 40 }),
    run('peer c32', 'peer 1 × 2', 32, 80, 350, 500, 250),
  ];
  const lines = renderIssue16(report({ peer: { model: 'base-int8', runs, disagreements: ['peer 1 × 2, text 0: "x"'], ortserveDescribe: null } }));
  assert.equal(verdictOf(lines, "ortserve req/s ÷ the better peer's"), 'not met (failed requests)');
  assert.equal(verdictOf(lines, "ortserve p99 at c32 below both peers'"), 'not met (failed requests)');
  assert.match(lines.join('\n'), /did not all give ortserve's answers/);
});

test('defaults targets: ratio to raw, memory with 2 workers, the tiny model', () => {
  const raw = { sessions: 2, threads: 1, batch: 4, seqPerSec: 100, paddedTokPerSec: 1, passes: 1, seconds: 1 };
  const lines = renderIssue16(
    report({
      defaults: {
        ratios: [
          {
            dtype: 'fp32',
            raw,
            rawRepeats: [100, 110, 90],
            server: [run('defaults fp32', 'o', 32, 95, 1, 2, 500), run('defaults fp32', 'o', 32, 99, 1, 2, 500), run('defaults fp32', 'o', 32, 81, 1, 2, 500)],
            // pairs 0.95, 0.90, 0.90 → median 0.90
            ratio: 0.9,
            describe: [{ batchSize: 8, maxBatchDelay: 100, workers: [{}], operatingPoint: { workers: 1, threads: 2 } }],
          },
        ],
        memory: [
          { dtype: 'fp32', workers: 1, run: run('memory fp32', 'o', 32, 90, 1, 2, 500) },
          { dtype: 'fp32', workers: 2, run: run('memory fp32', 'o', 32, 90, 1, 2, 640) },
        ],
        tiny: [run('defaults tiny', 't', 64, 5200, 5, 40, 100), run('defaults tiny', 't', 64, 4900, 5, 45, 100), run('defaults tiny', 't', 64, 5100, 5, 60, 100)],
        tinyDescribe: null,
      },
    }),
  );
  const text = lines.join('\n');
  assert.match(text, /pairs: 0\.95, 0\.90, 0\.90/);
  assert.equal(verdictOf(lines, 'server ÷ best raw layout at c32, fp32'), 'not met');
  assert.match(text, /640 ÷ 500 MiB = 1\.28/);
  assert.equal(verdictOf(lines, 'RSS with 2 workers'), 'not met');
  // PSS: 540 ÷ 400 = 1.35.
  assert.match(text, /540 ÷ 400 MiB = 1\.35/);
  assert.equal(verdictOf(lines, 'PSS with 2 workers'), 'not met');
  // Medians: 5100 req/s, p99 45 ms.
  assert.match(text, /5100 req\/s, p99 45\.0 ms/);
  assert.equal(verdictOf(lines, 'tiny model at c64'), 'met');
  // A field TorchServe's describe does not have is shown: what the automatic layout chose.
  assert.match(chosenLayout([{ batchSize: 8, maxBatchDelay: 100, workers: [{}], operatingPoint: { workers: 1 } }]), /^1 worker\(s\), batchSize 8, maxBatchDelay 100; operatingPoint: \{"workers":1\}$/);
});
