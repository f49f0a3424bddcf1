/**
 * Where `evaluate` writes its report: a folder of its own for every run, so that a rerun never
 * overwrites an earlier report. The default is a new timestamped folder under reports/ (with -2, -3 …
 * when two runs start in the same second); `--out DIR` must name a folder that is missing or empty, unless `--overwrite` says to write over the
 * report in it.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** `--out` names a folder that already holds files. */
export class OutDirTakenError extends Error {}

/** `reports/evaluate-2026-01-31T12-00-00` (local time, no colons: valid on every file system). */
export function timestampedName(now: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `evaluate-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}-${pad(now.getMinutes())}-${pad(now.getSeconds())}`;
}

/** Creates the report folder and returns its absolute path. */
export function claimReportDir(out: string | undefined, cwd: string, now: Date, overwrite = false): string {
  if (out !== undefined) {
    const dir = path.resolve(cwd, out);
    mkdirSync(dir, { recursive: true });
    if (!overwrite && readdirSync(dir).length > 0) {
      throw new OutDirTakenError(`--out ${out}: the folder already holds a report or other files; name a new folder, leave --out out for a new timestamped one, or add --overwrite`);
    }
    return dir;
  }
  const parent = path.resolve(cwd, 'reports');
  mkdirSync(parent, { recursive: true });
  const base = path.join(parent, timestampedName(now));
  for (let i = 1; ; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    try {
      // Not recursive: creating it is the claim, and fails when another run got there first.
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
