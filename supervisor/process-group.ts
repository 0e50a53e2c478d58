// The child's process group: signal it, tell whether anything of it still runs, wait until it is
// gone. The child leads its own group (spawned detached), and fluentd's workers stay in it, so
// the group is the unit that is stopped and killed, never only the leader.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), T, … */
  state: string;
  ppid: number;
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, identifies a process across pid reuse. */
  starttime: number;
}

/**
 * `/proc/<pid>/stat`. The command name (field 2) sits in parentheses and may itself contain
 * spaces and parentheses, so the fields are taken after the last `)`.
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(' ');
  const [state, ppid, pgrp, starttime] = [rest[0], Number(rest[1]), Number(rest[2]), Number(rest[19])];
  if (!Number.isInteger(pid) || !state || !Number.isInteger(ppid) || !Number.isInteger(pgrp)) return null;
  return { pid, state, ppid, pgrp, starttime: Number.isInteger(starttime) ? starttime : 0 };
}

/** Every readable process under `procRoot`; processes that vanish while being read are skipped. */
export function listProcs(procRoot = '/proc'): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = parseProcStat(readFileSync(`${procRoot}/${name}/stat`, 'utf8'));
      if (st) out.push(st);
    } catch {
      // gone between readdir and read
    }
  }
  return out;
}

/** Send `signal` to every process of group `pgid`. False when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!(pgid > 1)) return false; // -1 would signal every process we may signal, -0 our own group
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/**
 * Whether anything of group `pgid` still runs. `kill(-pgid, 0)` also succeeds for zombies, and a
 * group member orphaned to a PID 1 that does not reap (warden itself as PID 1 without tini)
 * stays a zombie forever; such a group is dead, so when the signal probe says "alive" the group's
 * members are checked in `/proc` and a group of zombies only counts as gone.
 */
export function groupAlive(pgid: number, procRoot = '/proc'): boolean {
  if (!signalGroup(pgid, 0)) return false;
  const members = listProcs(procRoot).filter((p) => p.pgrp === pgid);
  if (members.length === 0) return true; // /proc unreadable or of another PID namespace: trust kill()
  return members.some((p) => p.state !== 'Z');
}

/**
 * The processes below `pid` in the parent tree that left its process group (setsid, or a
 * process group of their own). A group signal misses them; they are found while their parent
 * still lives, i.e. before the stop begins, and killed by identity (pid + start time) after.
 */
export function escapedDescendants(pid: number, procRoot = '/proc'): ProcStat[] {
  const procs = listProcs(procRoot);
  const byParent = new Map<number, ProcStat[]>();
  for (const p of procs) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcStat[] = [];
  const todo = [pid];
  const seen = new Set<number>();
  while (todo.length > 0) {
    const parent = todo.pop()!;
    for (const c of byParent.get(parent) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      if (c.pgrp !== pid && c.state !== 'Z') out.push(c);
      todo.push(c.pid);
    }
  }
  return out;
}

/** SIGKILL each process that is still the same one (pid and start time match). */
export function killByIdentity(procs: ProcStat[], procRoot = '/proc'): number {
  let killed = 0;
  for (const p of procs) {
    try {
      const now = parseProcStat(readFileSync(`${procRoot}/${p.pid}/stat`, 'utf8'));
      if (!now || now.starttime !== p.starttime || now.state === 'Z') continue;
      process.kill(p.pid, 'SIGKILL');
      killed++;
    } catch {
      // gone already
    }
  }
  return killed;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves true once group `pgid` is gone, false when `timeoutMs` passed first. */
export async function waitGroupGone(pgid: number, timeoutMs: number, opts: { intervalMs?: number; procRoot?: string } = {}): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const interval = opts.intervalMs ?? 50;
  for (;;) {
    if (!groupAlive(pgid, opts.procRoot)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
}

/**
 * Stop politely, force after a delay: `signal` to the group (and to descendants that left it),
 * up to `graceMs` for the group to go, then SIGKILL and wait (bounded by `killWaitMs`; a process
 * stuck in uninterruptible sleep cannot be hurried); escaped descendants still there are
 * SIGKILLed at the end. Resolves true when the group is gone. Orphans that had already been
 * reparented away before the stop cannot be found and are PID 1's to reap.
 */
export async function terminateGroup(
  pgid: number,
  opts: { signal: NodeJS.Signals; graceMs: number; killWaitMs?: number; procRoot?: string; known?: ProcStat[] },
): Promise<boolean> {
  const escaped = mergeProcs(opts.known ?? [], escapedDescendants(pgid, opts.procRoot));
  for (const p of escaped) signalPid(p.pid, opts.signal);
  let gone = !signalGroup(pgid, opts.signal) || (await waitGroupGone(pgid, opts.graceMs, opts));
  if (!gone) {
    signalGroup(pgid, 'SIGKILL');
    gone = await waitGroupGone(pgid, opts.killWaitMs ?? 10_000, opts);
  }
  // SIGKILL is delivered asynchronously: resolve only once the escaped ones are gone too, so that
  // "stopped" means nothing of the tree remains.
  await killAndWait(escaped, opts.killWaitMs ?? 10_000, opts.procRoot);
  return gone;
}

/** `a` and `b` as one list, each process (pid and start time) once. */
export function mergeProcs(a: ProcStat[], b: ProcStat[]): ProcStat[] {
  const out = new Map<string, ProcStat>();
  for (const p of [...a, ...b]) out.set(`${p.pid}:${p.starttime}`, p);
  return [...out.values()];
}

/** SIGKILL `procs` (by identity) and wait, bounded, until none of them runs. */
export async function killAndWait(procs: ProcStat[], waitMs: number, procRoot = '/proc'): Promise<void> {
  killByIdentity(procs, procRoot);
  const deadline = Date.now() + waitMs;
  while (procs.some((p) => sameProcessRunning(p, procRoot)) && Date.now() < deadline) await sleep(10);
}

export function sameProcessRunning(p: ProcStat, procRoot = '/proc'): boolean {
  try {
    const now = parseProcStat(readFileSync(`${procRoot}/${p.pid}/stat`, 'utf8'));
    return now !== null && now.starttime === p.starttime && now.state !== 'Z';
  } catch {
    return false;
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/**
 * Pids holding a listening TCP socket on `port` (any address, IPv4 or IPv6): the socket's inode
 * from /proc/net/tcp{,6}, then the processes whose /proc/PID/fd links to it. Processes whose fds
 * cannot be read (other users) are not seen.
 */
export function listenerPids(port: number, procRoot = '/proc'): number[] {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT, st 0A is LISTEN, inode is field 10
      if (f.length < 10 || f[3] !== '0A') continue;
      if (parseInt(f[1]!.split(':')[1] ?? '', 16) === port && f[9] !== '0') inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return [];
  const out: number[] = [];
  for (const name of safeReaddir(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    for (const fd of safeReaddir(`${procRoot}/${name}/fd`)) {
      let link: string;
      try {
        link = readlinkSync(`${procRoot}/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) {
        out.push(Number(name));
        break;
      }
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
