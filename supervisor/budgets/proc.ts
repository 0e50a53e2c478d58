// CPU and memory of the child's process tree and of warden itself, over sliding windows. Cheap by
// construction: one walk (procfs/tree.ts) reads each process's stat once, which gives parent, CPU
// ticks and RSS together; PSS costs one smaps_rollup read per process and can be turned off.
import { execFileSync } from 'node:child_process';
import { parseSmapsRollup, parseStatusRssAnon, parseStatusVmRss } from '../procfs/memory.js';
import { readText } from '../procfs/read.js';
import { identity, parseStat, type ProcStat } from '../procfs/stat.js';
import { TreeWalker } from '../procfs/tree.js';

export { parseSmapsRollup, parseStat, parseStatusRssAnon, parseStatusVmRss, type ProcStat };

/** CLK_TCK and the page size, asked of getconf (100 and 4096 on Linux when getconf is missing). */
export function sysconf(): { clkTck: number; pageSize: number } {
  const ask = (name: string, fallback: number) => {
    try {
      const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000 }).trim());
      return Number.isFinite(n) && n > 0 ? n : fallback;
    } catch {
      return fallback;
    }
  };
  return { clkTck: ask('CLK_TCK', 100), pageSize: ask('PAGESIZE', 4096) };
}

/** A counter sampled over time → rate over a sliding window of wall time. */
export class RateWindow {
  private points: { at: number; value: number }[] = [];
  constructor(private readonly windowMs: number) {}

  push(at: number, cumulative: number): void {
    this.points.push({ at, value: cumulative });
    // Keep one point at or before the window start so the window spans its full length.
    while (this.points.length > 2 && this.points[1].at <= at - this.windowMs) this.points.shift();
  }

  /** Units per second over the window; null until two points exist. */
  rate(): number | null {
    if (this.points.length < 2) return null;
    const a = this.points[0];
    const b = this.points[this.points.length - 1];
    return b.at > a.at ? ((b.value - a.value) * 1000) / (b.at - a.at) : null;
  }

  /** Units per second between the last two points. */
  lastRate(): number | null {
    if (this.points.length < 2) return null;
    const a = this.points[this.points.length - 2];
    const b = this.points[this.points.length - 1];
    return b.at > a.at ? ((b.value - a.value) * 1000) / (b.at - a.at) : null;
  }

  reset(): void {
    this.points = [];
  }
}

export interface TreeSample {
  at: number;
  rootPid: number;
  /** Root first, then descendants. */
  pids: number[];
  /** Pids not seen in the previous sample of this root (the root itself on the first sample). */
  newPids: number[];
  /** Millicores averaged over the sliding window; null until two samples exist. */
  cpuMillicores: number | null;
  /** Millicores over the last sample interval only (for feedback control). */
  cpuMillicoresLast: number | null;
  rssBytes: number;
  /** Sum of PSS over the tree; null for a one-process tree (not read), when any smaps_rollup was unreadable, or PSS is off. */
  pssBytes: number | null;
  /**
   * What budgets compare. One process: its RSS, what `ps` and the kernel's OOM report show. A tree:
   * the PSS sum where readable, so pages fluentd's forked workers share are counted once, not per
   * worker; else the RSS sum (an overestimate, the safe side).
   */
  memoryBytes: number;
}

export interface TreeSamplerOptions {
  procRoot?: string;
  /** The walker to share with the child supervisor's descendant tracking; default a walker of its own. */
  walker?: TreeWalker;
  /** Width of the CPU sliding window. */
  windowMs?: number;
  /** Read smaps_rollup for PSS (a page-table walk in the kernel; off makes sampling cheaper). */
  pss?: boolean;
  clkTck?: number;
  pageSize?: number;
  now?: () => number;
}

/** Samples one process tree over time (the child's); a new root pid starts a fresh window. */
export class TreeSampler {
  readonly walker: TreeWalker;
  private readonly clkTck: number;
  private readonly pageSize: number;
  private readonly readPss: boolean;
  private readonly window: RateWindow;
  private rootPid: number | null = null;
  /** Per process (pid:starttime): ticks at the last sample. Exited processes drop out. */
  private lastTicks = new Map<string, number>();
  private cumulativeTicks = 0;
  private primed = false;

  constructor(opts: TreeSamplerOptions = {}) {
    this.walker = opts.walker ?? new TreeWalker({ procRoot: opts.procRoot, now: opts.now });
    const sc = opts.clkTck && opts.pageSize ? { clkTck: opts.clkTck, pageSize: opts.pageSize } : sysconf();
    this.clkTck = opts.clkTck ?? sc.clkTck;
    this.pageSize = opts.pageSize ?? sc.pageSize;
    this.readPss = opts.pss ?? true;
    this.window = new RateWindow(opts.windowMs ?? 3000);
  }

  /** Forget the current tree (the child exited). */
  reset(): void {
    this.rootPid = null;
    this.lastTicks.clear();
    this.cumulativeTicks = 0;
    this.primed = false;
    this.window.reset();
  }

  /** Measures the tree under rootPid (a fresh walk); null when the root is gone. */
  sample(rootPid: number): TreeSample | null {
    if (rootPid !== this.rootPid) {
      this.reset();
      this.rootPid = rootPid;
    }
    const { at, procs: stats } = this.walker.walk(rootPid);
    if (stats.length === 0) return null;
    const { newPids, deltaTicks } = this.countTicks(stats);
    this.cumulativeTicks += deltaTicks;
    this.window.push(at, this.cumulativeTicks);
    const toMilli = (ticksPerSec: number | null) => (ticksPerSec === null ? null : Math.round((ticksPerSec / this.clkTck) * 1000));
    const rssBytes = stats.reduce((sum, s) => sum + s.rssPages, 0) * this.pageSize;
    // PSS is compared for a tree only; for one process it equals RSS less shared pages nobody else
    // in the tree maps, and its smaps_rollup (a page-table walk) was most of an idle warden's sampling.
    const pss = this.readPss && stats.length > 1 ? this.pssSum(stats) : null;
    return {
      at,
      rootPid,
      pids: stats.map((s) => s.pid),
      newPids,
      cpuMillicores: toMilli(this.window.rate()),
      cpuMillicoresLast: toMilli(this.window.lastRate()),
      rssBytes,
      pssBytes: pss,
      memoryBytes: stats.length > 1 && pss !== null ? pss : rssBytes,
    };
  }

  /** Ticks the tree used since the last sample, and the processes new since then. */
  private countTicks(stats: ProcStat[]): { newPids: number[]; deltaTicks: number } {
    const seen = new Map<string, number>();
    const newPids: number[] = [];
    let deltaTicks = 0;
    for (const s of stats) {
      const key = identity(s);
      const ticks = s.utime + s.stime;
      const before = this.lastTicks.get(key);
      if (before === undefined) {
        newPids.push(s.pid);
        // A process born since the last sample used all its ticks inside the interval; on the
        // very first sample there is no interval yet, so nothing is counted.
        if (this.primed) deltaTicks += ticks;
      } else deltaTicks += ticks - before;
      seen.set(key, ticks);
    }
    this.lastTicks = seen;
    this.primed = true;
    return { newPids, deltaTicks };
  }

  /** The PSS of the tree; null as soon as one smaps_rollup is unreadable. */
  private pssSum(stats: ProcStat[]): number | null {
    let pss = 0;
    for (const s of stats) {
      const rollup = readText(`${this.walker.procRoot}/${s.pid}/smaps_rollup`);
      const parsed = rollup ? parseSmapsRollup(rollup) : null;
      if (!parsed) return null;
      pss += parsed.pssBytes;
    }
    return pss;
  }
}

/** warden's own cumulative CPU time (µs, user + system) and RSS right now. */
export function selfUsage(): { cpuMicros: number; rssBytes: number } {
  const u = process.cpuUsage();
  return { cpuMicros: u.user + u.system, rssBytes: process.memoryUsage.rss() };
}

export interface SelfSample {
  cpuMillicores: number | null;
  rssBytes: number;
  /**
   * What warden's memory budget compares: anonymous RSS (heap, buffers, stacks). The file pages of
   * the mapped binary (~45 MiB of a single binary's ~70–100 MiB RSS) are clean, the kernel drops
   * and refaults them under pressure, so counting them would hold warden to a budget it can only
   * meet by not being loaded. Falls back to RSS where /proc/self/status lacks RssAnon.
   */
  anonBytes: number;
}

/** warden's own CPU (process.cpuUsage) and RSS over the same kind of sliding window. */
export class SelfSampler {
  private readonly window: RateWindow;
  constructor(
    windowMs = 3000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.window = new RateWindow(windowMs);
  }

  sample(): SelfSample {
    const u = selfUsage();
    this.window.push(this.now(), u.cpuMicros);
    const rate = this.window.rate(); // µs of CPU per second
    const status = readText('/proc/self/status');
    const anon = status ? parseStatusRssAnon(status) : null;
    return { cpuMillicores: rate === null ? null : Math.round(rate / 1000), rssBytes: u.rssBytes, anonBytes: anon ?? u.rssBytes };
  }
}
