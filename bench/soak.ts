/**
 * `npm run soak` (not a test): a long run at twice the measured capacity, to show that overload ends in
 * 503s and nothing else, that memory plateaus and that the server never stalls.
 *
 * One ortserve process (TorchServe's `job_queue_size=100`) serves the tiny benchmark model and the bundled
 * taxonomy model, one worker each. This process is the load generator, on loopback:
 * 1. capacity: a closed loop (32 clients per model, both models at once) for `--capacity-seconds`;
 * 2. soak: an open loop for `--minutes` that starts requests at `--factor` × that capacity per model,
 *    whether or not earlier ones were answered (what real traffic does; a closed loop can never overload);
 * every `--sample-seconds` it reads the server's RSS from /proc and its event-loop lag and worker restarts
 * from /metrics. It prints a Markdown report (also written to `.bench/soak-report.md`).
 *
 *   npm run soak -- [--minutes 10] [--factor 2] [--capacity-seconds 15] [--sample-seconds 30]
 *   SOAK_MAX_INFLIGHT=1000 npm run soak      (requests of one model in flight at most; default 400)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { runLoad } from './load.js';
import { CORPUS_FILE, loadCorpus, PROJECT_ROOT } from './lib/corpus.js';
import { readRss, ServerProcess } from './lib/server-process.js';
import { fmt, markdownTable, summarizeLatencies } from './lib/stats.js';
import { BENCH_DIR, ensureModel } from './models.js';

interface Target {
  model: string;
  mar: string;
}

interface Tally {
  sent: number;
  /** Arrivals not sent because MAX_INFLIGHT requests of the model were already waiting for answers. */
  skipped: number;
  byStatus: Record<string, number>;
  latencies: number[];
}

interface Sample {
  minute: number;
  rssMiB: number;
  lagP99Ms: number;
  lagMaxMs: number;
  restarts: number;
  okPerSec: number;
  rejectedPerSec: number;
}

const log = (m: string): void => console.error(`[soak] ${m}`);

function metricValue(text: string, name: string): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([\w:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name) {
      total += Number(m[3]);
      found = true;
    }
  }
  return found ? total : Number.NaN;
}

/**
 * Requests of one model in flight at most (env SOAK_MAX_INFLIGHT, default 400): four times the server's queue
 * (100), so the server, not the load generator, decides what is rejected; and one connection each, so that
 * no request waits inside undici and every latency is the server's. Arrivals beyond it are counted as not
 * sent: on 2 cores shared with the server, the load generator cannot put more on the wire.
 */
const MAX_INFLIGHT = Number(process.env.SOAK_MAX_INFLIGHT ?? 400);

/** Starts requests at `rate` per second until `stop()`; every answer is tallied. */
function openLoop(url: string, model: string, token: string | null, rate: number, corpus: readonly Buffer[], tally: Tally): { stop(): Promise<void> } {
  const pool = new Pool(url, { connections: MAX_INFLIGHT, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const requestPath = `/predictions/${model}`;
  const inflight = new Set<Promise<void>>();
  let next = 0;
  let owed = 0;
  let last = performance.now();
  const send = (): void => {
    if (inflight.size >= MAX_INFLIGHT) {
      tally.skipped++;
      return;
    }
    const body = corpus[next++ % corpus.length]!;
    tally.sent++;
    const t0 = performance.now();
    const p = pool
      .request({ method: 'PUT', path: requestPath, headers, body })
      .then(async (res) => {
        await res.body.text();
        return String(res.statusCode);
      })
      .catch((err: NodeJS.ErrnoException) => err.code ?? err.name)
      .then((status) => {
        tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
        if (status === '200') tally.latencies.push(performance.now() - t0);
        inflight.delete(p);
      });
    inflight.add(p);
  };
  const timer = setInterval(() => {
    const now = performance.now();
    owed += ((now - last) / 1000) * rate;
    last = now;
    for (; owed >= 1; owed--) send();
  }, 5);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      await pool.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      factor: { type: 'string', default: '2' },
      'capacity-seconds': { type: 'string', default: '15' },
      'sample-seconds': { type: 'string', default: '30' },
    },
  });
  const minutes = Number(values.minutes);
  const factor = Number(values.factor);
  const capacitySec = Number(values['capacity-seconds']);
  const sampleSec = Number(values['sample-seconds']);
  const corpusText = loadCorpus(CORPUS_FILE);
  const corpus = corpusText.map((t) => Buffer.from(t, 'utf8'));

  const tiny = await ensureModel('tiny', log);
  const targets: Target[] = [
    { model: 'tiny', mar: tiny.mar },
    { model: 'taxonomy', mar: path.join(PROJECT_ROOT, 'model-store', 'taxonomy.mar') },
  ];
  const server = await ServerProcess.start({ label: 'soak', properties: { job_queue_size: '100' } });
  try {
    for (const t of targets) await server.register({ mar: t.mar, modelName: t.model, batchSize: 8, maxBatchDelay: 5, initialWorkers: 1 });
    const token = server.token('inference');
    log(`server pid ${server.pid}; measuring capacity for ${capacitySec} s`);
    const capacity = await Promise.all(
      targets.map((t) =>
        runLoad({ url: server.inferenceUrl, model: t.model, token, concurrency: 32, durationSec: capacitySec, warmupSec: 3, corpus: corpusText }),
      ),
    );
    const rates = capacity.map((c) => c.requestsPerSec * factor);
    log(`capacity ${capacity.map((c, i) => `${targets[i]!.model} ${fmt(c.requestsPerSec, 0)}/s`).join(', ')}; soak at ×${factor} for ${minutes} min`);

    const tallies: Tally[] = targets.map(() => ({ sent: 0, skipped: 0, byStatus: {}, latencies: [] }));
    const loops = targets.map((t, i) => openLoop(server.inferenceUrl, t.model, token, rates[i]!, corpus, tallies[i]!));
    const samples: Sample[] = [];
    const started = performance.now();
    let lastOk = 0;
    let lastRejected = 0;
    while (performance.now() - started < minutes * 60_000) {
      await new Promise((r) => setTimeout(r, sampleSec * 1000));
      const text = await fetch(`${server.metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
        .then((r) => r.text())
        .catch(() => '');
      const ok = tallies.reduce((a, t) => a + (t.byStatus['200'] ?? 0), 0);
      const rejected = tallies.reduce((a, t) => a + (t.byStatus['503'] ?? 0), 0);
      const s: Sample = {
        minute: (performance.now() - started) / 60_000,
        rssMiB: readRss(server.pid)?.rss ?? Number.NaN,
        lagP99Ms: metricValue(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
        lagMaxMs: metricValue(text, 'nodejs_eventloop_lag_max_seconds') * 1000,
        restarts: metricValue(text, 'ortserve_worker_restarts_total'),
        okPerSec: (ok - lastOk) / sampleSec,
        rejectedPerSec: (rejected - lastRejected) / sampleSec,
      };
      lastOk = ok;
      lastRejected = rejected;
      samples.push(s);
      log(`${fmt(s.minute, 1)} min: RSS ${fmt(s.rssMiB, 0)} MiB, lag p99 ${fmt(s.lagP99Ms, 1)} ms, 200/s ${fmt(s.okPerSec, 0)}, 503/s ${fmt(s.rejectedPerSec, 0)}, restarts ${s.restarts}`);
    }
    await Promise.all(loops.map((l) => l.stop()));
    const ping = await fetch(`${server.inferenceUrl}/ping`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(10_000) })
      .then((r) => String(r.status))
      .catch((err: Error) => `${err.message} (${String((err.cause as Error | undefined)?.message ?? '')})`);
    const alive = ping === '200';
    if (!alive) log(`/ping after the soak: ${ping}`);
    const report = render({ minutes, factor, capacitySec, sampleSec, targets, capacity: capacity.map((c) => c.requestsPerSec), rates, tallies, samples, alive });
    console.log(report);
    mkdirSync(BENCH_DIR, { recursive: true });
    writeFileSync(path.join(BENCH_DIR, 'soak-report.md'), report);
  } finally {
    await server.stop(30_000);
  }
}

interface ReportInput {
  minutes: number;
  factor: number;
  capacitySec: number;
  sampleSec: number;
  targets: Target[];
  capacity: number[];
  rates: number[];
  tallies: Tally[];
  samples: Sample[];
  alive: boolean;
}

function render(r: ReportInput): string {
  const out: string[] = [];
  out.push(`## Soak: ${r.minutes} min at ${r.factor}× capacity`, '');
  out.push(
    `Settings: one server process, job_queue_size=100, each model 1 worker, batch_size 8, max_batch_delay 5 ms; ` +
      `capacity from a ${r.capacitySec} s closed loop of 32 clients per model (both at once); open-loop arrivals; ` +
      `samples every ${r.sampleSec} s.`,
    '',
  );
  const rows = r.targets.map((t, i) => {
    const tally = r.tallies[i]!;
    const lat = summarizeLatencies(tally.latencies);
    const other = Object.entries(tally.byStatus).filter(([s]) => s !== '200' && s !== '503');
    return [
      t.model,
      fmt(r.capacity[i]!, 0),
      fmt(r.rates[i]!, 0),
      String(tally.sent),
      String(tally.skipped),
      String(tally.byStatus['200'] ?? 0),
      String(tally.byStatus['503'] ?? 0),
      other.length === 0 ? '0' : other.map(([s, n]) => `${s}: ${n}`).join(', '),
      fmt(lat.p50, 1),
      fmt(lat.p99, 1),
    ];
  });
  out.push(markdownTable(['model', 'capacity req/s', 'offered req/s', 'sent', `not sent (${MAX_INFLIGHT} in flight)`, '200', '503', 'other', 'p50 ms (200)', 'p99 ms (200)'], rows), '');
  out.push(
    markdownTable(
      ['minute', 'RSS MiB', 'event-loop lag p99 ms', 'lag max ms', 'worker restarts', '200/s', '503/s'],
      r.samples.map((s) => [fmt(s.minute, 1), fmt(s.rssMiB, 0), fmt(s.lagP99Ms, 1), fmt(s.lagMaxMs, 1), String(s.restarts), fmt(s.okPerSec, 0), fmt(s.rejectedPerSec, 0)]),
    ),
    '',
  );
  const others = r.tallies.reduce((a, t) => a + Object.entries(t.byStatus).filter(([s]) => s !== '200' && s !== '503').reduce((b, [, n]) => b + n, 0), 0);
  // Plateau: after the first third (warm-up), the RSS of the last third is within 10 % of the middle third's peak.
  const third = Math.max(1, Math.floor(r.samples.length / 3));
  const middle = Math.max(...r.samples.slice(third, 2 * third).map((s) => s.rssMiB));
  const last = Math.max(...r.samples.slice(2 * third).map((s) => s.rssMiB));
  const growth = (last - middle) / middle;
  out.push(`- other errors (not 200, not 503): **${others}** (goal 0)`);
  out.push(`- RSS: peak of the middle third ${fmt(middle, 0)} MiB, of the last third ${fmt(last, 0)} MiB: ${fmt(growth * 100, 1)} % (plateau if under 10 %)`);
  out.push(`- worker restarts: ${r.samples.at(-1)?.restarts ?? 'n/a'}; /ping after the soak: ${r.alive ? '200' : 'no answer'}`);
  return `${out.join('\n')}\n`;
}

await main();
