/** The benchmark's pure helpers (bench/lib/stats.ts) and its corpus (bench/corpus/events.txt). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCorpus, LABELS } from '../../bench/lib/corpus.js';
import { parseOptions } from '../../bench/run.js';
import {
  corpusStats,
  fmt,
  fmtInt,
  histogramTotals,
  markdownTable,
  median,
  paddedTokens,
  percentile,
  sortedBatches,
  summarizeLatencies,
  verdict,
  wordCount,
} from '../../bench/lib/stats.js';

test('percentile interpolates between ranks, as NumPy does', () => {
  const s = [1, 2, 3, 4];
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile(s, 100), 4);
  assert.equal(percentile(s, 50), 2.5);
  assert.ok(Math.abs(percentile(s, 90) - 3.7) < 1e-12);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('median and summaries sort numerically, not as strings', () => {
  assert.equal(median([10, 9, 100, 2]), 9.5);
  const s = summarizeLatencies([5, 1, 3, 2, 4, 100]);
  assert.equal(s.count, 6);
  assert.equal(s.p50, 3.5);
  assert.equal(s.max, 100);
  assert.ok(Math.abs(s.mean - 115 / 6) < 1e-12);
  assert.ok(s.p99 > s.p90 && s.p90 > s.p50);
});

test('sortedBatches cuts texts sorted by length and pads to the longest of each batch', () => {
  const lengths = [30, 5, 12, 7, 200, 6];
  const batches = sortedBatches(lengths, 4);
  assert.deepEqual(batches.map((b) => b.rows), [[1, 5, 3, 2], [0, 4]]);
  assert.deepEqual(batches.map((b) => b.padded), [12, 200]);
  assert.equal(paddedTokens(batches), 4 * 12 + 2 * 200);
  // Batch 1 never pads.
  assert.equal(paddedTokens(sortedBatches(lengths, 1)), lengths.reduce((a, b) => a + b, 0));
  assert.throws(() => sortedBatches(lengths, 0), /positive integer/);
});

test('corpusStats counts short texts, the texts cut at the cap and the long tail', () => {
  const texts = ['one two three', 'a b', 'x '.repeat(130).trim()];
  const stats = corpusStats(texts, [5, 64, 210], 210);
  assert.equal(stats.texts, 3);
  assert.equal(stats.under64, 1 / 3);
  assert.equal(stats.atCap, 1 / 3);
  assert.equal(stats.longTail, 1 / 3);
  assert.equal(stats.maxTokens, 210);
  assert.equal(stats.p50Tokens, 64);
  assert.equal(stats.words.max, 130);
  assert.throws(() => corpusStats(texts, [1], 210), /token counts/);
  assert.equal(wordCount('  Jazz at  the Blue Note  '), 5);
});

test('histogramTotals adds _sum and _count over label sets, and is null without the metric', () => {
  const text = [
    '# HELP ortserve_batch_size Batch size',
    '# TYPE ortserve_batch_size histogram',
    'ortserve_batch_size_bucket{model="a",le="1"} 3',
    'ortserve_batch_size_sum{model="a"} 20',
    'ortserve_batch_size_count{model="a"} 5',
    'ortserve_batch_size_sum{model="b"} 4',
    'ortserve_batch_size_count{model="b"} 1',
    'ortserve_batch_size_tokens_sum 999',
  ].join('\n');
  assert.deepEqual(histogramTotals(text, 'ortserve_batch_size'), { sum: 24, count: 6 });
  assert.equal(histogramTotals('ts_inference_requests_total 3', 'ortserve_batch_size'), null);
});

test('formatting: numbers, n/a, Markdown tables with escaped pipes, verdicts', () => {
  assert.equal(fmt(3.14159, 2), '3.14');
  assert.equal(fmt(Number.NaN), 'n/a');
  assert.equal(fmt(null), 'n/a');
  assert.equal(fmtInt(4213.4), '4,213');
  assert.equal(markdownTable(['a', 'b'], [['1', 'x|y']]), '| a | b |\n| --- | --- |\n| 1 | x\\|y |');
  assert.equal(verdict(0.91, 0.9), 'met');
  assert.equal(verdict(0.89, 0.9), 'not met');
  assert.equal(verdict(0.5, 1, true), 'met');
  assert.equal(verdict(null, 1), 'n/a');
});

test('the corpus: 320 different event descriptions, half English half Spanish, a long tail', () => {
  const lines = loadCorpus();
  assert.equal(lines.length, 320);
  assert.equal(new Set(lines).size, 320);
  const words = lines.map(wordCount);
  const long = words.filter((w) => w > 60).length;
  assert.ok(long >= 0.1 * lines.length && long <= 0.2 * lines.length, `long texts: ${long}`);
  assert.ok(Math.max(...words) <= 200);
  assert.ok(words.filter((w) => w >= 10 && w <= 45).length >= 0.75 * lines.length);
  // Spanish lines are recognisable by their characters and function words.
  const spanish = lines.filter((l) => /[ñáéíóú¿¡]|\b(el|la|de|con|para|entrada)\b/i.test(l) && !/\b(the|and|with)\b/i.test(l)).length;
  assert.ok(spanish >= 0.4 * lines.length && spanish <= 0.6 * lines.length, `spanish lines: ${spanish}`);
  assert.equal(LABELS.length, 8);
});

test('bench options: defaults, --quick, and explicit durations', () => {
  const full = parseOptions([]);
  assert.deepEqual(full.concurrency, [1, 8, 32, 64]);
  assert.equal(full.durationSec, 15);
  assert.equal(full.batchSize, 8);
  assert.equal(full.maxBatchDelay, 100);
  assert.equal(full.maxBatchTokens, null);
  assert.ok(full.sections.includes('sharing'));
  const quick = parseOptions(['--quick', '--duration', '2']);
  assert.equal(quick.durationSec, 2);
  assert.deepEqual(quick.concurrency, [1, 32]);
  assert.ok(!quick.sections.includes('sharing'));
  assert.equal(parseOptions(['--max-batch-tokens', '2048']).maxBatchTokens, 2048);
  assert.throws(() => parseOptions(['--sections', 'raw,nope']), /unknown section/);
});
