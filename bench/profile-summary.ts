/**
 * Summarizes V8 .cpuprofile files (from `npm run bench -- --cpu-prof`, one per server thread): the share
 * of the profiled time that the thread was busy, and the functions with the most self time.
 *
 *   node dist/bench/profile-summary.js [--top 15] FILE_OR_DIR...
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  seconds: number;
  /** Share of the time not in (idle) / (program) / (garbage collector). */
  busy: number;
  gc: number;
  top: Array<{ name: string; ms: number; share: number }>;
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const byName = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    total += us;
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)') idle += us;
    if (fn === '(garbage collector)') gc += us;
    const where = n.callFrame.url ? ` ${n.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${fn}${where}`;
    byName.set(key, (byName.get(key) ?? 0) + us);
  }
  const top = [...byName.entries()]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / Math.max(1, total) }));
  return { file, seconds: (p.endTime - p.startTime) / 1e6, busy: 1 - idle / Math.max(1, total), gc: gc / Math.max(1, total), top };
}

function expand(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => path.join(p, f))
      : [p],
  );
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '15' } } });
  for (const file of expand(positionals)) {
    const s = summarizeProfile(file, Number(values.top));
    console.log(`\n${path.basename(file)}: ${s.seconds.toFixed(1)} s profiled, busy ${(s.busy * 100).toFixed(0)} %, GC ${(s.gc * 100).toFixed(1)} %`);
    for (const t of s.top) console.log(`  ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.ms.toFixed(0).padStart(7)} ms  ${t.name}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
