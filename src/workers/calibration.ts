/**
 * Calibration of a model version's operating point (issue 16): for each layout of workers × threads
 * that fits the cores, as many calibration threads run at once as the layout has workers, each timing
 * the candidate batch sizes on synthetic inputs. The HTTP thread only posts messages and waits.
 */
import { Worker } from 'node:worker_threads';
import { candidateBatches, candidateLayouts, type LayoutMeasurement } from '../scheduling/operating-point.js';
import type { CalibrationInit, FromCalibration, ToCalibration } from './calibration-main.js';
import { endThread } from './lost-threads.js';

const SCRIPT = new URL('./calibration-main.js', import.meta.url);

export interface CalibrationPlan {
  /** The ONNX model file. */
  file: string;
  /** The version's shared ORT cache, or null when its workers load private copies. */
  cacheDir: string | null;
  cores: number;
  batchSize: number;
  maxBatchTokens: number;
  /** Synthetic sequence length. */
  length: number;
  runs: number;
}

export class CalibrationError extends Error {}

/** One thread's next message, or its failure. */
function next(thread: Worker): Promise<FromCalibration> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromCalibration): void => {
      thread.off('error', onError);
      thread.off('exit', onExit);
      if (m.type === 'failed') reject(new CalibrationError(m.message));
      else resolve(m);
    };
    const onError = (err: Error): void => reject(new CalibrationError(err.message));
    const onExit = (): void => reject(new CalibrationError('the calibration thread ended'));
    thread.once('message', onMessage);
    thread.once('error', onError);
    thread.once('exit', onExit);
  });
}

async function stopThread(thread: Worker): Promise<void> {
  if (thread.threadId < 0) return; // already ended (a failed thread ends by itself)
  const exited = new Promise<boolean>((resolve) => thread.once('exit', () => resolve(true)));
  thread.postMessage({ type: 'stop' } satisfies ToCalibration);
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([exited, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 60_000)))]);
  clearTimeout(timer);
  if (!ended) await endThread(thread, () => console.error('a calibration thread did not end'));
}

/** Rejects when `signal` aborts (the version is unregistered, scaled by hand, or the server stops). */
function stopped(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const stop = (): void => reject(new CalibrationError('calibration stopped'));
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}

async function measureLayout(plan: CalibrationPlan, workers: number, threads: number, batches: readonly number[], signal: AbortSignal): Promise<LayoutMeasurement[]> {
  const init: CalibrationInit = { file: plan.file, cacheDir: plan.cacheDir, threads, length: plan.length, runs: plan.runs };
  const pool = Array.from({ length: workers }, () => new Worker(SCRIPT, { workerData: init, stdout: false, stderr: false }));
  const abort = stopped(signal);
  abort.catch(() => undefined);
  try {
    await Promise.race([Promise.all(pool.map(next)), abort]);
    const out: LayoutMeasurement[] = [];
    for (const batch of batches) {
      const replies = pool.map(next);
      for (const t of pool) t.postMessage({ type: 'run', batch } satisfies ToCalibration);
      const ran = await Promise.race([Promise.all(replies), abort]);
      const seqPerSec = ran.reduce((sum, m) => sum + (m.type === 'ran' ? (batch * 1000) / m.ms : 0), 0);
      out.push({ workers, threads, batch, length: plan.length, seqPerSec: Math.round(seqPerSec * 10) / 10 });
    }
    return out;
  } finally {
    // Awaited: the process must not exit while a calibration thread still holds a session. Each thread is
    // asked to end (after any session creation or run under way); one that does not within a minute is ended.
    await Promise.all(pool.map((t) => stopThread(t)));
  }
}

/** Sequences/s of every candidate layout and batch size, measured one layout at a time. */
export async function calibrate(plan: CalibrationPlan, signal: AbortSignal): Promise<LayoutMeasurement[]> {
  const batches = candidateBatches(plan.batchSize, plan.maxBatchTokens, plan.length);
  const out: LayoutMeasurement[] = [];
  for (const { workers, threads } of candidateLayouts(plan.cores)) out.push(...(await measureLayout(plan, workers, threads, batches, signal)));
  return out;
}
