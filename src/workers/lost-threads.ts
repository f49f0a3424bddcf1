/**
 * Worker threads that did not end when told to. `worker.terminate()` interrupts JavaScript, but not a
 * thread blocked in a synchronous system call (a handler's `fs.readFileSync` on a FIFO or a hung network
 * file system): its promise then never settles. Such a thread is abandoned here (unref'd, counted) so
 * that nothing waits for it; it ends by itself if its call ever returns.
 *
 * Abandoned threads matter once more at exit: `process.exit()` joins every worker thread, and so never
 * returns while one is blocked. `exitProcess` then ends the process with SIGKILL, the one way out left.
 */
import type { Worker } from 'node:worker_threads';

/** How long a thread gets to end after `terminate()` before it is abandoned. */
export const TERMINATE_WAIT_MS = 3000;

const lost = new Set<Worker>();
/** One ending per thread, however many callers ask for it. */
const endings = new WeakMap<Worker, Promise<boolean>>();

/**
 * Terminates `thread`: true once it ended, false when it was abandoned after TERMINATE_WAIT_MS, in which
 * case `onLost` runs (once per thread, whoever else waits for the same thread).
 */
export function endThread(thread: Worker, onLost: () => void): Promise<boolean> {
  let ending = endings.get(thread);
  if (!ending) {
    ending = terminateWithin(thread).then((ended) => {
      if (!ended) onLost();
      return ended;
    });
    endings.set(thread, ending);
  }
  return ending;
}

async function terminateWithin(thread: Worker): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    thread.terminate().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), TERMINATE_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (ended) return true;
  lost.add(thread);
  thread.unref();
  thread.once('exit', () => lost.delete(thread));
  return false;
}

/** Threads abandoned and still blocked. */
export function lostThreadCount(): number {
  return lost.size;
}

/**
 * Ends the process with `code`, or with SIGKILL when an abandoned thread would make `process.exit()`
 * wait for it forever (`log` says so first).
 */
export function exitProcess(code: number, log: (message: string) => void = console.error): never {
  if (lost.size > 0) {
    log(`${lost.size} worker thread(s) are blocked in a synchronous system call and cannot be ended; exiting with SIGKILL.`);
    process.kill(process.pid, 'SIGKILL');
  }
  process.exit(code);
}
