// Per-process CPU and memory from /proc, for one pid (never its children: utime+stime of the
// process itself, not cutime/cstime), so warden's numbers exclude the sink it supervises.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ; 100 on every Linux this runs on (getconf CLK_TCK)

/** utime+stime of `pid` in seconds, or null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name; the name is in parentheses and may itself hold spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS;
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM (peak RSS) of `pid` in MiB, or null once it is gone. */
/** RSS now and at its peak, and RSS now split into anonymous memory and file pages (the mapped runtime binary). */
export function memoryMiB(pid: number): { rss: number; hwm: number; anon: number; file: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
  } catch {
    return null;
  }
}

/** Direct children of `pid` (from /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** `pid` and all its descendants: fluentd runs a supervisor and workers. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i]!));
  return out;
}

/** CPU seconds of a whole process tree as it stands now. */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0);
}

/** Samples RSS every `everyMs` and keeps the peak; for trees whose VmHWM is per process. */
export class RssSampler {
  peak = 0;
  private timer: NodeJS.Timeout;
  constructor(private readonly pids: () => number[], everyMs = 100) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  sample(): void {
    const total = this.pids().reduce((a, p) => a + (memoryMiB(p)?.rss ?? 0), 0);
    if (total > this.peak) this.peak = total;
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** RSS of a bare `node` (this one, or the runtime at `node`) idling half a second, for scale: "node v20.20.2: 40 MiB, 34 of them file pages". */
export function bareNodeRss(node = process.execPath): string {
  const script = "setTimeout(() => process.stdout.write(process.version + '\\n' + require('fs').readFileSync('/proc/self/status', 'utf8')), 500)";
  const status = execFileSync(node, ['-e', script], { encoding: 'utf8' });
  const mib = (key: string) => Math.round(Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? NaN) / 1024);
  return `node ${status.split('\n')[0]}: ${mib('VmRSS')} MiB, ${mib('RssFile')} of them file pages`;
}
