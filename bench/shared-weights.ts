/**
 * Issue 16: what sharing one copy of the weights costs and saves in the server. For each base model
 * (fp32, int8) and each setting of model-config.yaml `sharedWeights`, interleaved, one server: the model
 * (a directory in the store) with 1 worker × 2 threads, then scaled to 2 workers × 1 thread
 * (`intra_op_threads` unset: the threads follow the workers), each under a closed loop at concurrency 32.
 * Reported per window: seq/s, p50/p99, and the process's VmRSS and PSS (file pages shared by the workers
 * counted once) after the window.
 *
 *   node dist/bench/shared-weights.js [--repeats 2] [--duration 10] [--batch-size 8] [--max-batch-delay 20]
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad } from './load.js';
import { ServerProcess, readRss } from './lib/server-process.js';
import { ensureModel } from './models.js';

function pss(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? Number.NaN) / 1024;
}

interface Window {
  model: string;
  shared: boolean;
  layout: string;
  seqPerSec: number;
  p50: number;
  p99: number;
  rssMiB: number;
  pssMiB: number;
}

async function measure(modelDir: string, model: string, shared: boolean, o: { duration: number; batchSize: number; delay: number }): Promise<Window[]> {
  const server = await ServerProcess.start({ label: `shared-${model}-${shared}`, properties: {} });
  try {
    const target = path.join(server.dir, 'model-store', 'clf');
    cpSync(modelDir, target, { recursive: true, filter: (f) => !f.endsWith('.ort') });
    mkdirSync(path.join(target, 'MAR-INF'));
    const yaml = readFileSync(path.join(modelDir, 'model-config.yaml'), 'utf8');
    writeFileSync(path.join(target, 'model-config.yaml'), `${yaml}\nsharedWeights: ${shared}\n`);
    writeFileSync(
      path.join(target, 'MAR-INF', 'MANIFEST.json'),
      JSON.stringify({ runtime: 'python', model: { modelName: 'clf', modelVersion: '1.0', handler: 'text_classifier', serializedFile: 'model.onnx', configFile: 'model-config.yaml' } }),
    );
    const token = server.token('management');
    const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const q = `url=clf&batch_size=${o.batchSize}&max_batch_delay=${o.delay}&initial_workers=1&synchronous=true`;
    const reg = await fetch(`${server.managementUrl}/models?${q}`, { method: 'POST', headers: auth });
    if (reg.status !== 200) throw new Error(`register: ${reg.status} ${await reg.text()}`);
    const out: Window[] = [];
    for (const workers of [1, 2]) {
      if (workers === 2) {
        const r = await fetch(`${server.managementUrl}/models/clf?min_worker=2&synchronous=true`, { method: 'PUT', headers: auth });
        if (r.status !== 200) throw new Error(`scale: ${r.status} ${await r.text()}`);
      }
      const load = await runLoad({ url: server.inferenceUrl, model: 'clf', token: server.token('inference'), concurrency: 32, durationSec: o.duration, warmupSec: 2 });
      out.push({
        model,
        shared,
        layout: workers === 1 ? '1 × 2' : '2 × 1',
        seqPerSec: Math.round(load.sequencesPerSec * 10) / 10,
        p50: Math.round(load.latency.p50),
        p99: Math.round(load.latency.p99),
        rssMiB: Math.round(readRss(server.pid)?.rss ?? Number.NaN),
        pssMiB: Math.round(pss(server.pid)),
      });
      console.log(JSON.stringify(out.at(-1)));
    }
    return out;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repeats: { type: 'string', default: '2' },
      duration: { type: 'string', default: '10' },
      'batch-size': { type: 'string', default: '8' },
      'max-batch-delay': { type: 'string', default: '20' },
    },
  });
  const o = { duration: Number(values.duration), batchSize: Number(values['batch-size']), delay: Number(values['max-batch-delay']) };
  for (let i = 0; i < Number(values.repeats); i++) {
    for (const name of ['base-fp32', 'base-int8'] as const) {
      const m = await ensureModel(name);
      for (const shared of i % 2 === 0 ? [true, false] : [false, true]) await measure(m.dir, name, shared, o);
    }
  }
}

void main();
