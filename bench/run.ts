/**
 * `npm run bench` (`npm run bench -- --quick` for a short sanity run): issue 3's benchmark, in one run.
 *
 * Every measurement runs in a process of its own: the raw ONNX Runtime loop (bench/raw.ts), each server
 * (`ortserve --start --foreground`, bench/lib/server-process.ts), each load (bench/load.ts) and the
 * weight-sharing probe (bench/sharing.ts). Servers of one section are started together, idle servers cost
 * no CPU (ONNX Runtime threads do not spin), and loads alternate between them so that comparisons are back
 * to back; the comparisons the targets depend on are repeated, interleaved, and reported as medians.
 *
 * Sections (`--sections`, comma-separated): raw, fp32, int8, workers, tiny, sharing, taxonomy
 * (bench/section-taxonomy.ts), image (bench/section-image.ts). Durations:
 * `--duration` (loads at concurrency > 1), `--c1-passes` (concurrency-1 loads run whole passes over the
 * corpus, so they see the same texts as the raw single-sequence latency), `--tiny-duration`, `--warmup`,
 * `--raw-seconds`, `--repeats`. Scheduler settings: `--batch-size`, `--max-batch-delay`,
 * `--max-batch-tokens` (unset: the server's default). `--cpu-prof` profiles the servers
 * (.bench/profiles/). The report is printed and saved to .bench/results/.
 *
 * The code: bench/options.ts (these options), bench/sections.ts (the sections), bench/scenario.ts (one
 * server and one measurement), bench/report.ts with bench/report-rows.ts and bench/report-targets.ts (the
 * Markdown report and its verdicts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { log } from './lib/script-process.js';
import { BENCH_DIR } from './models.js';
import { parseOptions } from './options.js';
import { renderReport } from './report.js';
import { runBench } from './sections.js';

// What this module exported before it was split, so that importers keep working.
export { SECTIONS, parseOptions, type BenchOptions, type Section } from './options.js';
export { renderReport } from './report.js';
export type { ServerRun } from './scenario.js';
export { runBench, type BenchReport } from './sections.js';

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const report = await runBench(o);
  const md = renderReport(report);
  const dir = path.join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  writeFileSync(path.join(dir, `${stamp}.md`), `${md}\n`);
  writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.md'), `${md}\n`);
  console.log(md);
  log(`saved .bench/results/${stamp}.md and .json`);
  if (report.failures.length) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
