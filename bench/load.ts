/**
 * The load generator, a process of its own: a closed loop of `concurrency` clients on loopback, each
 * sending its next request as soon as its previous answer is in (what autocannon and `ab -c` do), for
 * a duration (or a request count) after a warm-up. Requests cycle through the corpus lines, each sent as
 * the body of `PUT /predictions/<model>` with no content type, as `curl -T file` sends it, with the
 * inference token (`Authorization: Bearer …`). Latency is measured per request, from sending to the
 * last byte of the answer, with undici's keep-alive connections (one per client).
 *
 *   node dist/bench/load.js --url http://127.0.0.1:PORT --model NAME --token KEY
 *        [--concurrency 8] [--duration 15] [--warmup 3] [--requests N] [--offset 0] [--json]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { CORPUS_FILE, loadCorpus } from './lib/corpus.js';
import { fmt, summarizeLatencies, type LatencySummary } from './lib/stats.js';

export interface LoadResult {
  concurrency: number;
  /** Measured window (after warm-up), seconds. */
  seconds: number;
  /** Answers in the window, any status. */
  requests: number;
  ok: number;
  requestsPerSec: number;
  /** Texts classified per second (200 answers × lines per body; every corpus line is one text). */
  sequencesPerSec: number;
  /** Latency of 200 answers, ms. */
  latency: LatencySummary;
  /** Non-200 answers by status, and transport errors by code. */
  errors: Record<string, number>;
  /** CPU time of this load-generator process during the window, as a share of one core. */
  loadGenCpu: number;
}

export interface LoadOptions {
  url: string;
  model: string;
  token: string | null;
  concurrency: number;
  durationSec: number;
  warmupSec: number;
  /** Stop after this many measured requests instead of the duration. */
  requests?: number;
  /** Start index into the corpus (so back-to-back runs do not send the same first texts). */
  offset?: number;
  corpus?: readonly string[];
  /** Called when the measured window starts and ends (the CLI prints markers on stderr for bench/run.ts). */
  onWindow?: (edge: 'start' | 'end') => void;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const corpus = (o.corpus ?? loadCorpus(CORPUS_FILE)).map((t) => Buffer.from(t, 'utf8'));
  const pool = new Pool(o.url, { connections: o.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const path = `/predictions/${encodeURIComponent(o.model)}`;
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  let next = o.offset ?? 0;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let requests = 0;
  let measuring = false;
  let stopping = false;

  const oneClient = async (): Promise<void> => {
    while (!stopping) {
      const body = corpus[next++ % corpus.length]!;
      const t0 = performance.now();
      let status: string;
      try {
        const res = await pool.request({ method: 'PUT', path, headers, body });
        await res.body.text();
        status = String(res.statusCode);
      } catch (err) {
        status = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
      }
      const ms = performance.now() - t0;
      if (!measuring) continue;
      requests++;
      if (status === '200') latencies.push(ms);
      else errors[status] = (errors[status] ?? 0) + 1;
      if (o.requests !== undefined && requests >= o.requests) stopping = true;
    }
  };

  const clients = Array.from({ length: o.concurrency }, () => oneClient());
  await new Promise((r) => setTimeout(r, o.warmupSec * 1000));
  measuring = true;
  o.onWindow?.('start');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (o.requests === undefined) {
    await new Promise((r) => setTimeout(r, o.durationSec * 1000));
    stopping = true;
  }
  // The window ends now; answers still in flight are awaited but not counted.
  const endOfWindow = new Promise<number>((resolve) => {
    const check = (): void => (stopping ? resolve(performance.now()) : void setTimeout(check, 5));
    check();
  });
  const t1 = await endOfWindow;
  measuring = false;
  o.onWindow?.('end');
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients);
  await pool.close();
  const seconds = (t1 - t0) / 1000;
  return {
    concurrency: o.concurrency,
    seconds,
    requests,
    ok: latencies.length,
    requestsPerSec: requests / seconds,
    sequencesPerSec: latencies.length / seconds,
    latency: summarizeLatencies(latencies),
    errors,
    loadGenCpu: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      model: { type: 'string' },
      token: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      duration: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '3' },
      requests: { type: 'string' },
      offset: { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.url || !values.model) throw new Error('--url and --model are required');
  const result = await runLoad({
    url: values.url,
    model: values.model,
    token: values.token ?? null,
    concurrency: Number(values.concurrency),
    durationSec: Number(values.duration),
    warmupSec: Number(values.warmup),
    ...(values.requests !== undefined ? { requests: Number(values.requests) } : {}),
    offset: Number(values.offset),
    onWindow: (edge) => process.stderr.write(`window:${edge}\n`),
  });
  if (values.json) {
    console.log(JSON.stringify(result));
  } else {
    const l = result.latency;
    console.log(
      `c=${result.concurrency}: ${fmt(result.requestsPerSec)} req/s, p50 ${fmt(l.p50, 2)} ms, p90 ${fmt(l.p90, 2)} ms, ` +
        `p99 ${fmt(l.p99, 2)} ms, errors ${JSON.stringify(result.errors)}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
