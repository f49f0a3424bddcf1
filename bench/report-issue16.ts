/**
 * The report of issue 16's sections (bench/section-defaults.ts, bench/section-peer.ts): ortserve with
 * its defaults against the raw ceiling, its memory with 1 and 2 workers, the tiny model at
 * concurrency 64, the peer and the floor; then the issue's targets with verdicts. Medians over the
 * interleaved repeats, with the spread (min–max) beside them.
 */
import { fmt, markdownTable, median, verdict } from './lib/stats.js';
import type { TargetRun } from './lib/target-load.js';
import { PEER_TARGETS } from './section-peer.js';
import type { BenchReport } from './sections.js';

/** `median (min–max)` of some values. */
function spread(values: number[], digits = 1): string {
  if (values.length === 0) return 'n/a';
  if (values.length === 1) return fmt(values[0], digits);
  return `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;
}

const TORCHSERVE_DESCRIBE_KEYS = new Set([
  'modelName', 'modelVersion', 'modelUrl', 'runtime', 'minWorkers', 'maxWorkers', 'batchSize', 'maxBatchDelay', 'loadedAtStartup',
  'workers', 'jobQueueStatus', 'responseTimeout', 'startupTimeout', 'maxRetryTimeoutInSec', 'clientTimeoutInMills',
  'parallelType', 'parallelLevel', 'deviceType', 'deviceIds', 'continuousBatching', 'useJobTicket', 'useVenv',
  'stateful', 'sequenceMaxIdleMSec', 'sequenceTimeoutMSec', 'maxNumSequence', 'maxSequenceJobQueueSize', 'customizedMetadata',
]);

/** What a describe answer says the defaults chose: the worker count and any field TorchServe does not have. */
export function chosenLayout(describe: unknown): string {
  const d = (Array.isArray(describe) ? describe[0] : describe) as Record<string, unknown> | undefined;
  if (!d || typeof d !== 'object') return 'n/a';
  const workers = Array.isArray(d['workers']) ? d['workers'].length : '?';
  const extra = Object.entries(d).filter(([k]) => !TORCHSERVE_DESCRIBE_KEYS.has(k));
  const text = extra.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('; ');
  return `${workers} worker(s), batchSize ${String(d['batchSize'])}, maxBatchDelay ${String(d['maxBatchDelay'])}${text ? `; ${text.slice(0, 300)}` : ''}`;
}

const rps = (runs: TargetRun[]): number[] => runs.map((r) => r.load.requestsPerSec);
const p50 = (runs: TargetRun[]): number[] => runs.map((r) => r.load.latency.p50);
const p99 = (runs: TargetRun[]): number[] => runs.map((r) => r.load.latency.p99);
const errorsOf = (runs: TargetRun[]): string => {
  const total: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.load.errors)) total[k] = (total[k] ?? 0) + v;
  return Object.entries(total).map(([k, v]) => `${k}: ${v}`).join(', ') || '0';
};

/** A verdict, unless some of the runs it rests on had failed requests: their latencies mean little. */
function judged(v: string, ...groups: TargetRun[][]): string {
  return groups.some((runs) => runs.length === 0 || runs.some((x) => Object.keys(x.load.errors).length > 0)) ? 'not met (failed requests)' : v;
}

function runsTable(groups: Array<[string, TargetRun[]]>): string {
  return markdownTable(
    ['server', 'concurrency', 'runs', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'CPU (cores)', 'main thread CPU ms/req', 'peak RSS MiB', 'peak PSS MiB'],
    groups
      .filter(([, runs]) => runs.length > 0)
      .map(([name, runs]) => [
        name,
        String(runs[0]!.concurrency),
        String(runs.length),
        spread(rps(runs)),
        spread(p50(runs), 2),
        spread(p99(runs), 1),
        errorsOf(runs),
        spread(runs.map((r) => r.cpu), 2),
        spread(runs.map((r) => r.mainCpuMsPerRequest), 3),
        fmt(Math.max(...runs.map((r) => r.rssMaxMiB)), 0),
        fmt(Math.max(...runs.map((r) => r.pssMaxMiB)), 0),
      ]),
  );
}

/** Issue 16's tables and targets, or nothing when neither section ran. */
export function renderIssue16(r: BenchReport): string[] {
  const out: string[] = [];
  const targets: string[][] = [];
  const d = r.defaults;
  if (d) {
    out.push(`### Defaults, no tuning (registered with batch_size=${r.options.batchSize} only)`, '');
    if (d.ratios.length) {
      out.push(
        markdownTable(
          ['dtype', 'what the defaults chose (GET /models/clf)', 'best raw layout', 'raw seq/s', 'server seq/s at c32', 'server ÷ raw (median of pairs)', 'p50 / p99 ms', 'peak RSS MiB'],
          d.ratios.map((x) => [
            x.dtype,
            chosenLayout(x.describe),
            `${x.raw.sessions} × ${x.raw.threads}, batch ${x.raw.batch}`,
            spread(x.rawRepeats),
            spread(x.server.map((s) => s.load.sequencesPerSec)),
            fmt(x.ratio, 2),
            `${spread(p50(x.server))} / ${spread(p99(x.server))}`,
            fmt(Math.max(...x.server.map((s) => s.rssMaxMiB)), 0),
          ]),
        ),
        '',
      );
    }
    for (const x of d.ratios) {
      targets.push([`server ÷ best raw layout at c32, ${x.dtype}, defaults + batch_size=${r.options.batchSize}`, `${fmt(x.ratio, 2)} (pairs: ${x.server.map((s, i) => fmt(s.load.sequencesPerSec / x.rawRepeats[i]!, 2)).join(', ')})`, '≥ 0.93 (stretch 0.95)', judged(verdict(x.ratio, 0.93), x.server)]);
    }
    if (d.memory.length) {
      out.push('Memory with 1 and 2 workers (`initial_workers`, otherwise defaults), peak RSS during a concurrency-32 load:', '');
      out.push(
        markdownTable(
          ['dtype', 'workers', 'req/s', 'p99 ms', 'peak RSS MiB', 'peak PSS MiB'],
          d.memory.map((m) => [m.dtype, String(m.workers), fmt(m.run.load.requestsPerSec, 1), fmt(m.run.load.latency.p99, 1), fmt(m.run.rssMaxMiB, 0), fmt(m.run.pssMaxMiB, 0)]),
        ),
        '',
      );
      const one = d.memory.find((m) => m.dtype === 'fp32' && m.workers === 1)?.run;
      const two = d.memory.find((m) => m.dtype === 'fp32' && m.workers === 2)?.run;
      if (one && two) {
        // VmRSS, as the issue words it, counts a file mapped by both workers twice; PSS counts it once.
        for (const [what, key] of [['RSS', 'rssMaxMiB'], ['PSS', 'pssMaxMiB']] as const) {
          const q = two[key] / one[key];
          targets.push([`${what} with 2 workers ÷ ${what} with 1 worker, fp32`, `${fmt(two[key], 0)} ÷ ${fmt(one[key], 0)} MiB = ${fmt(q, 2)}`, '≤ 1.25', judged(verdict(q, 1.25, true), [one, two])]);
        }
      }
    }
    if (d.tiny.length) {
      out.push(`Tiny model at concurrency 64, defaults (${chosenLayout(d.tinyDescribe)}):`, '');
      out.push(runsTable([['ortserve defaults tiny', d.tiny]]), '');
      const t = median(rps(d.tiny));
      const tp99 = median(p99(d.tiny));
      targets.push(['tiny model at c64, defaults', `${fmt(t, 0)} req/s, p99 ${fmt(tp99, 1)} ms (medians of ${d.tiny.length})`, '≥ 5,000 req/s and p99 < 50 ms', judged(t >= 5000 && tp99 < 50 ? 'met' : 'not met', d.tiny)]);
    }
  }
  const p = r.peer;
  if (p) {
    out.push(`### ortserve against the peer and the floor (${p.model}, bench/section-peer.ts)`, '');
    out.push(
      `ortserve: registered with batch_size=${r.options.batchSize} only (${chosenLayout(p.ortserveDescribe)}). ` +
        'Peer: bench/peer/app.py (FastAPI, uvicorn, onnxruntime, tokenizers; one `def` endpoint, no batching), 1 process with a 2-thread session, ' +
        'and 2 uvicorn processes with 1 thread each. Floor: bench/floor.ts (node:http, one worker thread, same session settings). ' +
        'Interleaved: each repeat loads every server in turn, in a rotating order. RSS is summed over each server\'s processes.',
      '',
    );
    if (p.disagreements.length) out.push(`**The servers did not all give ortserve's answers**: ${p.disagreements.slice(0, 5).join('; ')}`, '');
    else out.push('All servers gave the same answers as ortserve to the first 24 corpus texts.', '');
    const runs = (section: string, name: string): TargetRun[] => p.runs.filter((x) => x.section === section && x.target === name);
    const groups: Array<[string, TargetRun[]]> = [];
    for (const c of ['peer c32', 'peer c1']) for (const name of PEER_TARGETS) groups.push([name, runs(c, name)]);
    out.push(runsTable(groups), '');
    const ort32 = runs('peer c32', 'ortserve');
    const peers = (['peer 1 × 2', 'peer 2 × 1'] as const).map((n) => ({ n, runs: runs('peer c32', n) })).filter((x) => x.runs.length > 0);
    if (ort32.length && peers.length) {
      const better = peers.reduce((a, b) => (median(rps(b.runs)) > median(rps(a.runs)) ? b : a));
      const ratio = median(rps(ort32)) / median(rps(better.runs));
      targets.push([`ortserve req/s ÷ the better peer's (${better.n}) at c32`, `${fmt(median(rps(ort32)), 1)} ÷ ${fmt(median(rps(better.runs)), 1)} = ${fmt(ratio, 2)}`, '≥ 1.1', judged(verdict(ratio, 1.1), ort32, better.runs)]);
      const worstPeerP99 = Math.min(...peers.map((x) => median(p99(x.runs))));
      targets.push([`ortserve p99 at c32 below both peers'`, `${fmt(median(p99(ort32)), 1)} ms vs ${peers.map((x) => `${x.n} ${fmt(median(p99(x.runs)), 1)}`).join(', ')} ms`, '< peers', judged(median(p99(ort32)) < worstPeerP99 ? 'met' : 'not met', ort32, ...peers.map((x) => x.runs))]);
      const peer1 = runs('peer c32', 'peer 1 × 2').concat(runs('peer c1', 'peer 1 × 2'));
      const ortAll = ort32.concat(runs('peer c1', 'ortserve'));
      if (peer1.length) {
        for (const [what, key] of [['RSS', 'rssMaxMiB'], ['PSS', 'pssMaxMiB']] as const) {
          const a = Math.max(...ortAll.map((x) => x[key]));
          const b = Math.max(...peer1.map((x) => x[key]));
          targets.push([`ortserve peak ${what} ÷ single-process peer's`, `${fmt(a, 0)} ÷ ${fmt(b, 0)} MiB = ${fmt(a / b, 2)}`, '≤ 1.25', judged(verdict(a / b, 1.25, true), ortAll, peer1)]);
        }
      }
    }
    const ort1 = runs('peer c1', 'ortserve');
    const floor1 = runs('peer c1', 'floor');
    const peer1c1 = runs('peer c1', 'peer 1 × 2');
    if (ort1.length && floor1.length && ort1.length === floor1.length) {
      const diff = median(ort1.map((x, i) => x.load.latency.p50 - floor1[i]!.load.latency.p50));
      targets.push([
        'p50 at c1 ≤ floor p50 + 0.2 ms',
        `${fmt(median(p50(ort1)), 2)} vs ${fmt(median(p50(floor1)), 2)} ms: ${diff >= 0 ? '+' : ''}${fmt(diff, 2)} ms (median of ${ort1.length} paired differences)`,
        '≤ +0.2 ms',
        judged(verdict(diff, 0.2, true), ort1, floor1),
      ]);
    }
    if (ort1.length && peer1c1.length) {
      targets.push(['p50 at c1 below the single-process peer\'s', `${fmt(median(p50(ort1)), 2)} vs ${fmt(median(p50(peer1c1)), 2)} ms`, '<', judged(median(p50(ort1)) < median(p50(peer1c1)) ? 'met' : 'not met', ort1, peer1c1)]);
    }
  }
  if (targets.length) {
    out.push('### Issue 16 targets', '');
    out.push(markdownTable(['target', 'measured', 'goal', 'verdict'], targets), '');
  }
  return out;
}
