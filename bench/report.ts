/**
 * The Markdown report of a run (printed, and saved to .bench/results/): the machine and corpus, the raw
 * ceilings and sweeps, the server runs, memory, weight sharing, then the verdicts (bench/report-targets.ts)
 * and any failures. Pure: it renders a BenchReport, so a saved .json can be rendered again.
 */
import { fmt, fmtInt, markdownTable, median } from './lib/stats.js';
import { RUN_HEADER, ms, runRow } from './report-rows.js';
import { renderIssue16 } from './report-issue16.js';
import { renderSettingsCheck, renderTargets } from './report-targets.js';
import type { ServerRun } from './scenario.js';
import type { BenchReport } from './sections.js';
import { renderTaxonomy } from './section-taxonomy.js';
import { renderImageSection } from './section-image.js';

/** The whole report as Markdown. */
export function renderReport(r: BenchReport): string {
  const o = r.options;
  const out: string[] = [];
  const m = r.machine;
  out.push(`## ortserve benchmark, ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC${o.quick ? ' (--quick)' : ''}`);
  out.push('');
  out.push(
    markdownTable(
      ['machine', 'cores', 'memory', 'node', 'onnxruntime-node', 'commit', 'busy before run', 'run time'],
      [[m.cpu, String(m.cores), `${fmt(m.memGiB, 0)} GiB`, m.node, m.ort, m.commit, `${fmt(m.busyBefore * 100, 0)} %`, `${fmt(r.elapsedSec / 60, 1)} min`]],
    ),
  );
  out.push('');
  const corpus = r.raw.fp32?.corpus ?? r.raw.int8?.corpus;
  if (corpus) {
    out.push(
      `Corpus: ${corpus.texts} texts (bench/corpus/events.txt), ${fmt(corpus.meanTokens, 1)} tokens on average after truncation at 210 ` +
        `(p50 ${fmt(corpus.p50Tokens, 0)}, p90 ${fmt(corpus.p90Tokens, 0)}, max ${fmt(corpus.maxTokens, 0)}); ` +
        `${fmt(corpus.under64 * 100, 0)} % under 64 tokens, ${fmt(corpus.atCap * 100, 1)} % cut at 210. ` +
        `Load: closed loop, PUT /predictions/clf with one corpus line as body, ${o.warmupSec} s warm-up; ` +
        (o.c1Passes > 0
          ? `concurrency-1 windows (ortserve scheduler) are ${o.c1Passes} whole pass(es) over the corpus (${o.c1Passes * corpus.texts} requests), other windows ${o.durationSec} s.`
          : `every window ${o.durationSec} s.`),
    );
    out.push('');
  }

  // Raw ceiling.
  out.push('### Raw ONNX Runtime ceiling (no server)');
  out.push('');
  const rawRows: string[][] = [];
  for (const dtype of ['fp32', 'int8'] as const) {
    const raw = r.raw[dtype];
    if (!raw) continue;
    const ratio = r.ratios.find((x) => x.dtype === dtype);
    rawRows.push([
      dtype,
      raw.best ? `${raw.best.sessions} × ${raw.best.threads}, batch ${raw.best.batch}` : 'n/a',
      fmt(raw.best?.seqPerSec, 1),
      ratio ? `${fmt(median(ratio.rawRepeats), 1)} (${ratio.rawRepeats.map((v) => fmt(v, 0)).join(', ')})` : 'n/a',
      fmtInt(raw.best?.paddedTokPerSec),
      raw.single ? ms(raw.single.p50) : 'n/a',
      raw.single ? ms(raw.single.mean) : 'n/a',
    ]);
  }
  out.push(
    markdownTable(
      ['dtype', 'best setting (sessions × threads)', 'best seq/s (sweep)', 'best setting re-run, median (runs)', 'padded tok/s', 'single p50 ms', 'single mean ms'],
      rawRows,
    ),
  );
  out.push('');
  for (const dtype of ['fp32', 'int8'] as const) {
    const raw = r.raw[dtype];
    if (!raw) continue;
    const settings = [...new Set(raw.sweep.map((p) => `${p.sessions} × ${p.threads}`))];
    const batches = [...new Set(raw.sweep.map((p) => p.batch))];
    out.push(`Raw sweep, ${dtype}, sequences/s (texts sorted by length, padded to the longest of each batch):`);
    out.push('');
    out.push(
      markdownTable(
        ['sessions × threads', ...batches.map((b) => `batch ${b}`)],
        settings.map((s) => [s, ...batches.map((b) => fmt(raw.sweep.find((p) => `${p.sessions} × ${p.threads}` === s && p.batch === b)?.seqPerSec, 1))]),
      ),
    );
    out.push('');
  }

  // Server runs.
  const sweep = r.runs.filter((x) => x.section === 'fp32 sweep');
  if (sweep.length) {
    out.push('### Server, DistilBERT-base fp32: TorchServe-style baseline vs ortserve scheduler');
    out.push('');
    out.push(markdownTable(RUN_HEADER, sweep.map(runRow)));
    out.push('');
    const rows: string[][] = [];
    for (const c of o.concurrency) {
      const t = sweep.find((x) => x.concurrency === c && x.desc.scheduler === 'torchserve');
      const a = sweep.find((x) => x.concurrency === c && x.desc.scheduler === 'adaptive');
      if (t && a) {
        rows.push([String(c), fmt(a.load.requestsPerSec / t.load.requestsPerSec, 2), fmt(t.load.latency.p50 / a.load.latency.p50, 2), fmt(t.load.latency.p99 / a.load.latency.p99, 2)]);
      }
    }
    out.push('Gain of the ortserve scheduler over the baseline (same batch_size and max_batch_delay):');
    out.push('');
    out.push(markdownTable(['concurrency', 'req/s ×', 'p50 ÷', 'p99 ÷'], rows));
    out.push('');
  }
  const other = r.runs.filter((x) => x.section !== 'fp32 sweep');
  if (other.length) {
    out.push('### Other server runs (delay comparison, ratio repeats, int8, 2 workers × 1 thread, tiny model)');
    out.push('');
    out.push(markdownTable(['section', ...RUN_HEADER], other.map((x) => [x.section, ...runRow(x)])));
    out.push('');
  }

  // RSS.
  const rssRows: string[][] = [];
  const rssOf = (pred: (x: ServerRun) => boolean): number => {
    const values = r.runs.filter(pred).map((x) => x.rssMaxMiB).filter(Number.isFinite);
    return values.length ? Math.max(...values) : Number.NaN;
  };
  for (const [label, pred] of [
    ['fp32, 1 worker × 2 threads', (x: ServerRun) => x.scenario === 'fp32-adaptive'],
    ['fp32, 2 workers × 1 thread', (x: ServerRun) => x.scenario === 'fp32-2x1'],
    ['int8, 1 worker × 2 threads', (x: ServerRun) => x.scenario === 'int8-adaptive'],
    ['int8, 2 workers × 1 thread', (x: ServerRun) => x.scenario === 'int8-2x1'],
    ['tiny, 1 worker × 2 threads', (x: ServerRun) => x.scenario === 'tiny-adaptive'],
  ] as const) {
    const v = rssOf(pred);
    if (Number.isFinite(v)) rssRows.push([label, fmt(v, 0)]);
  }
  if (rssRows.length) {
    out.push('### Server memory (max VmRSS of the server process during its loads)');
    out.push('');
    out.push(markdownTable(['server', 'RSS MiB'], rssRows));
    out.push('');
  }

  // Weight sharing.
  for (const dtype of ['fp32', 'int8'] as const) {
    const pts = r.sharing[dtype];
    if (!pts) continue;
    out.push(`### Sharing one copy of the weights between two sessions, ${dtype} (bench/sharing.ts)`);
    out.push('');
    out.push(
      markdownTable(
        ['how the sessions load', 'RSS 1 → 2 sessions MiB', 'private (RssAnon) added MiB', 'PSS added MiB', 'create ms (1st, 2nd)', 'seq/s, batch 8, 2 threads'],
        pts.map((p) => [
          p.case === 'onnx' ? '.onnx file (what the server does)' : p.case === 'ort-mmap' ? '.ort, mmapped, initializers in place' : '.ort, mmapped, in place, no prepacking',
          `${fmt(p.rss[0], 0)} → ${fmt(p.rss[1], 0)}`,
          fmt(p.secondAnon, 0),
          fmt(p.secondPss, 0),
          `${fmt(p.createMs[0], 0)}, ${fmt(p.createMs[1], 0)}`,
          fmt(p.seqPerSec, 1),
        ]),
      ),
    );
    out.push('');
  }

  if (r.taxonomy) out.push(renderTaxonomy(r.taxonomy), '');
  if (r.image) out.push(...renderImageSection(r.image));
  out.push(...renderTargets(r));
  out.push(...renderSettingsCheck(r));
  out.push(...renderIssue16(r));
  if (r.failures.length) {
    out.push('Failures:');
    out.push('');
    for (const f of r.failures) out.push(`- ${f.split('\n')[0]}`);
    out.push('');
  }
  return out.join('\n');
}
