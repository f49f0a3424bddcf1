/**
 * The orchestrator's side of the bench scripts (load.js, raw.js, sharing.js): each runs as a child
 * process of its own, prints its result as JSON on the last stdout line, and reports progress on stderr,
 * which is forwarded line by line to the orchestrator's log.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench/, where the compiled scripts are (this file is in dist/bench/lib/). */
const DIST_BENCH = fileURLToPath(new URL('..', import.meta.url));

/** The orchestrator's progress log, on stderr so that stdout holds only the report. */
export const log = (m: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Runs `node dist/bench/<script>` and parses its last stdout line as JSON; stderr lines go to `onLine`. */
export function runNodeJson<T>(script: string, args: string[], onLine: (line: string) => void = (l) => log(l)): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(DIST_BENCH, script), ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      let nl: number;
      while ((nl = err.indexOf('\n')) >= 0) {
        onLine(err.slice(0, nl));
        err = err.slice(nl + 1);
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${err}${out.slice(-2000)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON result: ${out.slice(-2000)}`));
      }
    });
  });
}
