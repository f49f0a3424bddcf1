/**
 * The report's verdicts: issue 3's targets (each measured value against its goal) and the check that the
 * `batch_scheduler` setting takes effect. Kept apart from the tables (bench/report.ts) because these are
 * the lines that judge a run rather than describe it.
 */
import { fmt, fmtInt, markdownTable, median, verdict } from './lib/stats.js';
import { ms } from './report-rows.js';
import type { BenchReport } from './sections.js';

/** The "Issue 3 targets" section: heading, the table of targets, and a blank line. */
export function renderTargets(r: BenchReport): string[] {
  const o = r.options;
  const out: string[] = [];
  out.push('### Issue 3 targets');
  out.push('');
  const targets: string[][] = [];
  for (const ratio of r.ratios) {
    targets.push([
      `server c32 ≥ 0.90 × raw ceiling, ${ratio.dtype} (server ${ratio.serverSetting}; ceiling ${ratio.rawSetting})`,
      `${fmt(median(ratio.serverRepeats), 1)} ÷ ${fmt(median(ratio.rawRepeats), 1)} seq/s = ${fmt(ratio.ratio, 2)} (median of ${ratio.rawRepeats.length} interleaved pairs; ÷ sweep best ${fmt(ratio.rawSweepBest, 1)}: ${fmt(median(ratio.serverRepeats) / ratio.rawSweepBest, 2)})`,
      '≥ 0.90',
      verdict(ratio.ratio, 0.9),
    ]);
  }
  for (const dtype of ['fp32', 'int8'] as const) {
    const pairs = r.c1Pairs[dtype];
    if (!pairs || pairs.raw.length === 0) continue;
    const diff = median(pairs.server.map((v, i) => v - pairs.raw[i]!));
    targets.push([
      `p50 at c1 ≤ raw single + 1 ms, ${dtype} (max_batch_delay ${o.maxBatchDelay})`,
      `${ms(median(pairs.server))} vs ${ms(median(pairs.raw))} ms: +${fmt(diff, 2)} ms (median difference over ${pairs.raw.length} interleaved pairs; ` +
        `server ${pairs.server.map((v) => fmt(v, 1)).join(', ')}; raw ${pairs.raw.map((v) => fmt(v, 1)).join(', ')})`,
      '≤ 1 ms',
      verdict(diff, 1, true),
    ]);
  }
  if (r.delay) {
    const a = median(r.delay.withDelay);
    const b = median(r.delay.withoutDelay);
    targets.push([
      `p50 at c1, max_batch_delay ${o.maxBatchDelay} vs 0, fp32`,
      `${ms(a)} vs ${ms(b)} ms: ${fmt(a - b, 2)} ms (medians of ${r.delay.withDelay.length} interleaved pairs)`,
      '|Δ| ≤ 2 ms',
      verdict(Math.abs(a - b), 2, true),
    ]);
  }
  for (const tiny64 of r.runs.filter((x) => x.desc.model === 'tiny' && x.concurrency === 64)) {
    targets.push([
      `tiny model at c64 (${tiny64.desc.workers} × ${tiny64.desc.threads})`,
      `${fmtInt(tiny64.load.requestsPerSec)} req/s, p99 ${ms(tiny64.load.latency.p99)} ms`,
      '≥ 4,000 req/s, p99 < 50 ms',
      tiny64.load.requestsPerSec >= 4000 && tiny64.load.latency.p99 < 50 ? 'met' : 'not met',
    ]);
  }
  out.push(markdownTable(['target', 'measured', 'goal', 'verdict'], targets));
  out.push('');
  return out;
}

/**
 * At concurrency 1 the TorchServe-style scheduler waits max_batch_delay for a batch that never fills, so
 * its p50 gap over the adaptive one shows whether the setting reached the server. Empty without both runs.
 */
export function renderSettingsCheck(r: BenchReport): string[] {
  const o = r.options;
  const out: string[] = [];
  const sweep = r.runs.filter((x) => x.section === 'fp32 sweep');
  const tsC1 = sweep.find((x) => x.concurrency === 1 && x.desc.scheduler === 'torchserve');
  const adC1 = sweep.find((x) => x.concurrency === 1 && x.desc.scheduler === 'adaptive');
  if (tsC1 && adC1) {
    const gap = tsC1.load.latency.p50 - adC1.load.latency.p50;
    out.push(
      `Settings check: at concurrency 1 the torchserve scheduler's p50 is ${fmt(gap, 1)} ms above the adaptive one's ` +
        `(expected ≈ max_batch_delay = ${o.maxBatchDelay} ms if \`batch_scheduler\` takes effect): ` +
        `${gap > o.maxBatchDelay * 0.7 ? 'it does' : 'it does NOT seem to'}. Mean batch size: ` +
        `${r.runs.some((x) => x.meanBatch !== null) ? 'from `ortserve_batch_size` in GET /metrics' : 'n/a (no `ortserve_batch_size` in GET /metrics yet)'}.`,
    );
    out.push('');
  }
  return out;
}
