/**
 * The `taxonomy` section of `npm run bench`: the bundled model-store/taxonomy.mar (the int8 Universal
 * Sentence Encoder lite with its linear head, issue 15) served by ortserve, against its own raw ONNX
 * Runtime ceiling over the same corpus, measured in the same run.
 *
 * The archive's model.onnx and tokenizer files are extracted to .bench/models/taxonomy-<hash>/model for the
 * raw loop (bench/raw.ts), which cuts texts at the archive's `max_length` (128), as the server does. After
 * one raw sweep for the best raw setting, each repeat measures, back to back: the raw single-sequence
 * latency, the server at concurrency 1 (one pass over the corpus), the raw best setting, and the server at
 * concurrency 32. The ratios are medians over the repeats' pairs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { parse as parseYaml } from 'yaml';
import { CORPUS_FILE, PROJECT_ROOT, loadCorpus } from './lib/corpus.js';
import { log } from './lib/script-process.js';
import { MACHINE } from './lib/server-process.js';
import { fmt, markdownTable, median } from './lib/stats.js';
import { BENCH_DIR } from './models.js';
import type { BenchOptions } from './options.js';
import type { RawResult } from './raw.js';
import { RUN_HEADER, runRow } from './report-rows.js';
import { bestArgs, loadOnce, rawRun, type RunningScenario, type ServerConfigDesc, type ServerRun } from './scenario.js';

export const TAXONOMY_MAR = path.join(PROJECT_ROOT, 'model-store', 'taxonomy.mar');

/** What the section measured; rendered by `renderTaxonomy`. */
export interface TaxonomyResult {
  maxLength: number;
  sweep: RawResult;
  /** Per repeat: raw single-sequence p50 and server p50 at concurrency 1 (ms). */
  c1: { raw: number[]; server: number[] };
  /** Per repeat: raw best setting and server at concurrency 32 (sequences/s). */
  c32: { raw: number[]; server: number[] };
  runs: ServerRun[];
}

/** The archive's model files in a directory of their own, re-extracted when the archive changes. */
function extractTaxonomy(): { dir: string; mar: string; maxLength: number } {
  const bytes = readFileSync(TAXONOMY_MAR);
  const root = path.join(BENCH_DIR, 'models', `taxonomy-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`);
  const dir = path.join(root, 'model');
  if (!existsSync(dir)) {
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    new AdmZip(bytes).extractAllTo(path.join(tmp, 'model'), true);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(path.dirname(root), { recursive: true });
    renameSync(tmp, root);
  }
  const config = parseYaml(readFileSync(path.join(dir, 'model-config.yaml'), 'utf8')) as { handler?: { max_length?: number } };
  const maxLength = config.handler?.max_length;
  if (typeof maxLength !== 'number') throw new Error('taxonomy.mar: model-config.yaml has no handler.max_length');
  return { dir, mar: TAXONOMY_MAR, maxLength };
}

/**
 * Runs the section. `start` starts a server the caller stops (bench/sections.ts keeps track of it), so
 * that a failure part-way leaves no server running.
 */
export async function runTaxonomySection(
  o: BenchOptions,
  start: (name: string, model: { mar: string }, desc: ServerConfigDesc) => Promise<RunningScenario>,
): Promise<TaxonomyResult> {
  const model = extractTaxonomy();
  const lengthArgs = ['--max-length', String(model.maxLength)];
  const sweepArgs = ['--batches', o.rawBatches.join(','), '--threads', o.rawThreads.join(','), '--min-seconds', String(o.rawSeconds), ...lengthArgs];
  if (o.rawPairs) sweepArgs.push('--pairs');
  const sweep = await rawRun(o, model, sweepArgs);
  const best = sweep.best;
  if (!best) throw new Error('taxonomy: the raw sweep measured no setting');
  log(`taxonomy raw best: ${best.sessions} × ${best.threads}, batch ${best.batch}: ${fmt(best.seqPerSec)} seq/s`);

  const desc: ServerConfigDesc = {
    model: 'taxonomy',
    scheduler: 'adaptive',
    batchSize: o.batchSize,
    maxBatchDelay: o.maxBatchDelay,
    maxBatchTokens: o.maxBatchTokens,
    workers: 1,
    threads: MACHINE.cores,
  };
  const server = await start('taxonomy-adaptive', model, desc);
  const corpusSize = loadCorpus(CORPUS_FILE).length;
  const result: TaxonomyResult = { maxLength: model.maxLength, sweep, c1: { raw: [], server: [] }, c32: { raw: [], server: [] }, runs: [] };
  for (let i = 0; i < o.repeats; i++) {
    const single = (await rawRun(o, model, ['--batches', 'none', '--threads', 'none', '--single', ...lengthArgs])).single;
    const c1 = await loadOnce(o, 'taxonomy', server, { concurrency: 1, requests: corpusSize });
    const raw = await rawRun(o, model, [...bestArgs(best, Math.max(3, o.durationSec / 3)), ...lengthArgs]);
    const c32 = await loadOnce(o, 'taxonomy', server, { concurrency: 32, durationSec: o.durationSec }, i * 37);
    result.runs.push(c1, c32);
    result.c1.raw.push(single?.p50 ?? Number.NaN);
    result.c1.server.push(c1.load.latency.p50);
    result.c32.raw.push(raw.best?.seqPerSec ?? Number.NaN);
    result.c32.server.push(c32.load.sequencesPerSec);
  }
  return result;
}

const spread = (values: number[], digits: number): string => `${fmt(median(values), digits)} (${values.map((v) => fmt(v, digits)).join(', ')})`;

/** The section's part of the Markdown report. */
export function renderTaxonomy(t: TaxonomyResult): string {
  const best = t.sweep.best;
  const ratios = t.c32.server.map((s, i) => s / t.c32.raw[i]!);
  const c1Over = t.c1.server.map((s, i) => s - t.c1.raw[i]!);
  const out = [
    '### Bundled taxonomy model (model-store/taxonomy.mar)',
    '',
    `Int8 USE-lite encoder + linear head, texts cut at ${t.maxLength} pieces; corpus ${t.sweep.corpus.texts} texts, ` +
      `${fmt(t.sweep.corpus.meanTokens, 1)} pieces on average (p90 ${fmt(t.sweep.corpus.p90Tokens, 0)}). ` +
      `Raw sweep best: ${best ? `${best.sessions} × ${best.threads} thr, batch ${best.batch}, ${fmt(best.seqPerSec, 1)} seq/s` : 'n/a'}. ` +
      'Medians over the interleaved repeats, each repeat in parentheses.',
    '',
    markdownTable(
      ['measure', 'raw ONNX Runtime', 'ortserve', 'ortserve vs raw'],
      [
        ['p50 latency, one listing at concurrency 1 (ms)', spread(t.c1.raw, 2), spread(t.c1.server, 2), `+${spread(c1Over, 2)} ms`],
        ['throughput at concurrency 32 (seq/s)', spread(t.c32.raw, 1), spread(t.c32.server, 1), `${spread(ratios.map((r) => r * 100), 0)} %`],
      ],
    ),
    '',
    markdownTable(RUN_HEADER, t.runs.map(runRow)),
  ];
  return out.join('\n');
}
