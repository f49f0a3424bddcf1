/**
 * TorchServe's system metrics (spec §4.2; its `metric_collector.py` reads them with psutil every
 * `metric_time_interval` seconds): CPU %, memory used / available (MB) and %, disk usage / available (GB)
 * and % of the root file system.
 */
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import type { TorchServeFamilies } from './torchserve-text.js';

const MB = 1024 * 1024;
const GB = 1024 * MB;

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

/** MemAvailable from /proc/meminfo (what psutil reports as available); free memory elsewhere. */
function availableMemory(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return os.freemem();
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Collects once at start, then every `intervalSec`; `stop` ends it. */
export class SystemMetrics {
  private timer: NodeJS.Timeout;
  /** Zero at first: the first sample is the average since boot (psutil's first cpu_percent() is a bare 0.0). */
  private lastCpu: CpuTimes = { idle: 0, total: 0 };

  constructor(
    private readonly families: TorchServeFamilies,
    private readonly host: readonly string[],
    intervalSec: number,
  ) {
    this.collect();
    this.timer = setInterval(() => this.collect(), Math.max(1, intervalSec) * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  collect(): void {
    const f = this.families;
    const cpu = cpuTimes();
    const total = cpu.total - this.lastCpu.total;
    const busy = total - (cpu.idle - this.lastCpu.idle);
    this.lastCpu = cpu;
    const cpuPercent = total > 0 ? (busy / total) * 100 : 0;
    f.cpuUtilization.set(this.host, round(cpuPercent, 1));
    const totalMem = os.totalmem();
    const available = availableMemory();
    f.memoryUsed.set(this.host, round((totalMem - available) / MB, 1));
    f.memoryAvailable.set(this.host, round(available / MB, 1));
    f.memoryUtilization.set(this.host, round(((totalMem - available) / totalMem) * 100, 1));
    try {
      const s = statfsSync('/');
      const free = s.bavail * s.bsize;
      const used = (s.blocks - s.bfree) * s.bsize;
      f.diskUsage.set(this.host, round(used / GB, 1));
      f.diskAvailable.set(this.host, round(free / GB, 1));
      // psutil's percent: used / (used + available to unprivileged users).
      f.diskUtilization.set(this.host, round(used + free > 0 ? (used / (used + free)) * 100 : 0, 1));
    } catch {
      // no statfs on this platform: the disk families stay without samples
    }
  }
}
