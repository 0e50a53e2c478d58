// What tests read about processes from /proc: state, parent, group, RSS.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** R, S, D, Z, T … */
  state: string;
  ppid: number;
  pgid: number;
}

/** /proc/<pid>/stat's first fields, or null when the process is gone. */
export function procStat(pid: number | string): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(pid), state: f[0]!, ppid: Number(f[1]), pgid: Number(f[2]) };
  } catch {
    return null;
  }
}

/** Every pid in /proc right now. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Pids whose parent is `ppid`. */
export function childrenOf(ppid: number): number[] {
  return allPids().filter((pid) => procStat(pid)?.ppid === ppid);
}

/** Whether `pid` runs: exists and is not a zombie (an orphan waits for PID 1 to reap it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
  const st = procStat(pid);
  return st !== null && st.state !== 'Z';
}

/** SIGKILL of `pid` when it still exists; nothing when it is gone already (the usual clean-up of a test). */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** True while any process of the group `pgid` exists, zombies included. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process of group `pgid` still runs: `kill(-pgid, 0)`, then zombies discounted. */
export function groupExists(pgid: number): boolean {
  if (!groupAlive(pgid)) return false;
  return allPids().some((pid) => {
    const st = procStat(pid);
    return st !== null && st.pgid === pgid && st.state !== 'Z';
  });
}

/** RSS (kB) of a pid, or null when it is gone. */
export function rssKb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU time (utime + stime, in clock ticks) `pid` has used, from /proc/<pid>/stat. */
export function cpuTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}
