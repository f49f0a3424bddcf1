/**
 * The floor (issue 16): the least a Node server can do per request. A plain `node:http` server hands
 * each request body to one worker thread, which runs the server's own text-classifier code on the same
 * session settings (TextModel: the archive's tokenizer cut at 210, padding, ONNX Runtime, softmax) and
 * answers the label as text. No routing, no token check, no queue, no batching, no metrics, no logs:
 * at concurrency 1 the difference between ortserve's latency and this one is what ortserve's own
 * machinery costs, measured on the same machine in the same minutes (the wake-up latency of a thread
 * on a loaded machine is in both).
 *
 *   node dist/bench/floor.js --model-dir DIR [--threads 2]
 *
 * Prints `floor listening on http://127.0.0.1:PORT` on stdout once the session is loaded.
 */
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { argmax, TextModel } from '../src/handlers/text/text-model.js';
import { MAX_LENGTH } from './lib/corpus.js';
import { serverSessionOptions } from './lib/ort-bench.js';

interface FloorInit {
  modelDir: string;
  threads: number;
}

/** The worker thread: one TextModel, one request at a time, the answer as UTF-8 bytes (transferred). */
async function workerMain(init: FloorInit): Promise<void> {
  const model = await TextModel.load(init.modelDir, 'model.onnx', serverSessionOptions(init.threads), { max_length: MAX_LENGTH });
  parentPort!.on('message', (m: { id: number; body: Uint8Array }) => {
    void (async () => {
      const text = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength).toString('utf8');
      const [scores] = await model.scores([model.encode(text)]);
      const answer = new TextEncoder().encode(model.label(argmax(scores!)));
      parentPort!.postMessage({ id: m.id, answer }, [answer.buffer]);
    })();
  });
  parentPort!.postMessage({ id: 0, answer: null });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'model-dir': { type: 'string' }, threads: { type: 'string', default: '2' } } });
  if (!values['model-dir']) throw new Error('--model-dir is required');
  const init: FloorInit = { modelDir: values['model-dir'], threads: Number(values.threads) };
  const worker = new Worker(new URL(import.meta.url), { workerData: init });
  const waiting = new Map<number, (answer: Uint8Array) => void>();
  let next = 1;
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  worker.on('message', (m: { id: number; answer: Uint8Array }) => {
    waiting.get(m.id)?.(m.answer);
    waiting.delete(m.id);
  });
  worker.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = new Uint8Array(Buffer.concat(chunks));
      const id = next++;
      waiting.set(id, (answer) => {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': answer.byteLength });
        res.end(answer);
      });
      worker.postMessage({ id, body }, [body.buffer]);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    console.log(`floor listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
  });
  process.once('SIGTERM', () => {
    server.close();
    void worker.terminate().then(() => process.exit(0));
  });
}

if (!isMainThread) {
  void workerMain(workerData as FloorInit);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
