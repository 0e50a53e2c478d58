// CPU and memory of a process tree, measured from /proc. Cheap by construction: one read of
// /proc/<pid>/stat per process gives parent, CPU ticks and RSS together; the tree is found through
// /proc/<pid>/task/<tid>/children where the kernel has them (CONFIG_PROC_CHILDREN), else by one
// scan of /proc/*/stat. Synchronous reads on purpose: a handful of small procfs reads cost less
// than a round trip through the libuv thread pool.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** Ticks in user and kernel mode (clock ticks, see CLK_TCK). */
  utime: number;
  stime: number;
  /** Ticks after boot at which the process started: with the pid, its identity. */
  starttime: number;
  /** Resident pages. */
  rssPages: number;
}

/** Parses /proc/<pid>/stat. The command name may hold spaces and parentheses, so fields are counted from the last `)`. */
export function parseStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field N is f[N - 3].
  if (f.length < 22) return null;
  return {
    pid,
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    starttime: Number(f[19]),
    rssPages: Number(f[21]),
  };
}

/** Rss and Pss in bytes out of /proc/<pid>/smaps_rollup (values are in kB). */
export function parseSmapsRollup(text: string): { rssBytes: number; pssBytes: number } | null {
  const rss = /^Rss:\s+(\d+) kB/m.exec(text);
  const pss = /^Pss:\s+(\d+) kB/m.exec(text);
  if (!rss || !pss) return null;
  return { rssBytes: Number(rss[1]) * 1024, pssBytes: Number(pss[1]) * 1024 };
}

/** VmRSS in bytes out of /proc/<pid>/status; null for kernel threads and zombies. */
export function parseStatusVmRss(text: string): number | null {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** RssAnon in bytes out of /proc/<pid>/status: memory only swap or exit gives back (not file pages of the binary). */
export function parseStatusRssAnon(text: string): number | null {
  const m = /^RssAnon:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

let sysconfCache: { clkTck: number; pageSize: number } | null = null;

/** CLK_TCK and the page size, asked of getconf once per process (100 and 4096 on Linux when getconf is missing). */
export function sysconf(): { clkTck: number; pageSize: number } {
  if (sysconfCache) return sysconfCache;
  const ask = (name: string, fallback: number) => {
    try {
      const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000 }).trim());
      return Number.isFinite(n) && n > 0 ? n : fallback;
    } catch {
      return fallback;
    }
  };
  sysconfCache = { clkTck: ask('CLK_TCK', 100), pageSize: ask('PAGESIZE', 4096) };
  return sysconfCache;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
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
  /** Sum of PSS over the tree; null when any smaps_rollup was unreadable or PSS is off. */
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
  private readonly procRoot: string;
  private readonly clkTck: number;
  private readonly pageSize: number;
  private readonly readPss: boolean;
  private readonly now: () => number;
  private readonly window: RateWindow;
  private rootPid: number | null = null;
  /** Per process (pid:starttime): ticks at the last sample. Exited processes drop out. */
  private lastTicks = new Map<string, number>();
  private cumulativeTicks = 0;
  private childrenFiles: boolean | null = null;
  private primed = false;

  constructor(opts: TreeSamplerOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    const sc = opts.clkTck && opts.pageSize ? { clkTck: opts.clkTck, pageSize: opts.pageSize } : sysconf();
    this.clkTck = opts.clkTck ?? sc.clkTck;
    this.pageSize = opts.pageSize ?? sc.pageSize;
    this.readPss = opts.pss ?? true;
    this.now = opts.now ?? (() => performance.now());
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

  /** Measures the tree under rootPid; null when the root is gone. */
  sample(rootPid: number): TreeSample | null {
    if (rootPid !== this.rootPid) {
      this.reset();
      this.rootPid = rootPid;
    }
    const at = this.now();
    const stats = this.tree(rootPid);
    if (stats.length === 0) return null;

    const seen = new Map<string, number>();
    const newPids: number[] = [];
    let delta = 0;
    let rssPages = 0;
    let pss: number | null = this.readPss ? 0 : null;
    for (const s of stats) {
      const key = `${s.pid}:${s.starttime}`;
      const ticks = s.utime + s.stime;
      const before = this.lastTicks.get(key);
      if (before === undefined) {
        newPids.push(s.pid);
        // A process born since the last sample used all its ticks inside the interval; on the
        // very first sample there is no interval yet, so nothing is counted.
        if (this.primed) delta += ticks;
      } else delta += ticks - before;
      seen.set(key, ticks);
      rssPages += s.rssPages;
      if (pss !== null) {
        const rollup = readText(join(this.procRoot, String(s.pid), 'smaps_rollup'));
        const parsed = rollup ? parseSmapsRollup(rollup) : null;
        pss = parsed ? pss + parsed.pssBytes : null;
      }
    }
    this.lastTicks = seen;
    this.primed = true;
    this.cumulativeTicks += delta;
    this.window.push(at, this.cumulativeTicks);
    const toMilli = (ticksPerSec: number | null) => (ticksPerSec === null ? null : Math.round((ticksPerSec / this.clkTck) * 1000));
    const rssBytes = rssPages * this.pageSize;
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

  /** The root's stat and its descendants', root first. Empty when the root does not exist. */
  tree(rootPid: number): ProcStat[] {
    const root = this.stat(rootPid);
    if (!root) return [];
    if (this.childrenFiles === null) {
      this.childrenFiles = readText(join(this.procRoot, String(rootPid), 'task', String(rootPid), 'children')) !== null;
    }
    return this.childrenFiles ? this.treeByChildren(root) : this.treeByScan(root);
  }

  private stat(pid: number): ProcStat | null {
    const text = readText(join(this.procRoot, String(pid), 'stat'));
    return text ? parseStat(text) : null;
  }

  private treeByChildren(root: ProcStat): ProcStat[] {
    const out = [root];
    for (let i = 0; i < out.length; i++) {
      const pid = out[i].pid;
      let tids: string[];
      try {
        tids = readdirSync(join(this.procRoot, String(pid), 'task'));
      } catch {
        continue; // exited between reads
      }
      for (const tid of tids) {
        const text = readText(join(this.procRoot, String(pid), 'task', tid, 'children'));
        if (!text) continue;
        for (const c of text.trim().split(/\s+/)) {
          const st = c ? this.stat(Number(c)) : null;
          if (st) out.push(st);
        }
      }
    }
    return out;
  }

  private treeByScan(root: ProcStat): ProcStat[] {
    const byParent = new Map<number, ProcStat[]>();
    let names: string[];
    try {
      names = readdirSync(this.procRoot);
    } catch {
      return [root];
    }
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const st = this.stat(Number(name));
      if (!st) continue;
      const list = byParent.get(st.ppid);
      if (list) list.push(st);
      else byParent.set(st.ppid, [st]);
    }
    const out = [root];
    for (let i = 0; i < out.length; i++) {
      for (const child of byParent.get(out[i].pid) ?? []) if (child.pid !== root.pid) out.push(child);
    }
    return out;
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
