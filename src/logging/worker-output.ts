/**
 * Reads a worker thread's stdout and stderr (created with `stdout: true, stderr: true`) line by line into
 * the model log, as TorchServe's WorkerLifeCycle ReaderThread does with a Python worker's pipes.
 */
import { createInterface } from 'node:readline';
import type { Worker } from 'node:worker_threads';
import type { ServerLogs } from './server-logs.js';

/** Takes a new worker thread's output; `name` is TorchServe's worker name `W-<port>-<model>_<version>`. */
export type WorkerOutput = (thread: Worker, name: string) => void;

/** Without server logs (a bare ModelManager), worker output goes to the console. */
export const CONSOLE_OUTPUT: WorkerOutput = (thread, name) => pipeWorkerOutput(thread, name, undefined);

export function pipeWorkerOutput(thread: Worker, name: string, logs: ServerLogs | undefined): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    const input = thread[stream];
    if (!logs) {
      input.pipe(stream === 'stdout' ? process.stdout : process.stderr, { end: false });
      continue;
    }
    const lines = createInterface({ input, crlfDelay: Infinity });
    lines.on('line', (line) => logs.model(name, stream, line));
    logs.track(new Promise<void>((resolve) => lines.once('close', resolve)));
  }
}
