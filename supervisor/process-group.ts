// The child's process group: signal it, tell whether anything of it still runs, wait until it is
// gone. The child leads its own group (spawned detached), and fluentd's workers stay in it, so
// the group is the unit that is stopped and killed, never only the leader.
import { identity, sameProcessRunning, type ProcPlace, type ProcStat } from './procfs/stat.js';
import { descendantsOf, escapedFrom, listProcs } from './procfs/tree.js';


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
  return escapedFrom(pid, descendantsOf(pid, listProcs(procRoot)));
}

/** SIGKILL each process that is still the same one (pid and start time match). */
export function killByIdentity(procs: ProcPlace[], procRoot = '/proc'): number {
  let killed = 0;
  for (const p of procs) {
    if (!sameProcessRunning(p, procRoot)) continue;
    try {
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
 * Stop politely, force after a delay: `signal` to the group and to the processes outside it that
 * are the child's (`known`: descendants that left the group, marked processes; those a walk from
 * the leader finds now), up to `graceMs` for all of them to go, then SIGKILL and wait (bounded by
 * `killWaitMs`; a process stuck in uninterruptible sleep cannot be hurried). Resolves true when
 * the group is gone. Orphans of the child neither known nor marked cannot be found and are PID
 * 1's to reap.
 */
export async function terminateGroup(
  pgid: number,
  opts: { signal: NodeJS.Signals; graceMs: number; killWaitMs?: number; procRoot?: string; known?: ProcPlace[] },
): Promise<boolean> {
  const escaped = mergeProcs(opts.known ?? [], escapedDescendants(pgid, opts.procRoot)).filter((p) => p.pgrp !== pgid);
  for (const p of escaped) signalProc(p, opts.signal, opts.procRoot);
  const deadline = Date.now() + opts.graceMs;
  let gone = !signalGroup(pgid, opts.signal) || (await waitGroupGone(pgid, opts.graceMs, opts));
  // The grace is theirs too: a worker that left the group may be flushing like the group is.
  await waitProcsGone(escaped, deadline - Date.now(), opts.procRoot);
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
export function mergeProcs<P extends ProcPlace>(a: P[], b: P[]): P[] {
  const out = new Map<string, P>();
  for (const p of [...a, ...b]) out.set(identity(p), p);
  return [...out.values()];
}

/** SIGKILL `procs` (by identity) and wait, bounded, until none of them runs. */
export async function killAndWait(procs: ProcPlace[], waitMs: number, procRoot = '/proc'): Promise<void> {
  killByIdentity(procs, procRoot);
  await waitProcsGone(procs, waitMs, procRoot);
}

/**
 * Stop politely, force after a delay, for processes that are no group of ours: `signal` to each
 * (by identity), up to `graceMs` for all to go, then SIGKILL and wait (bounded by `killWaitMs`).
 */
export async function stopProcs(procs: ProcPlace[], opts: { signal: NodeJS.Signals; graceMs: number; killWaitMs?: number; procRoot?: string }): Promise<void> {
  for (const p of procs) signalProc(p, opts.signal, opts.procRoot);
  await waitProcsGone(procs, opts.graceMs, opts.procRoot);
  await killAndWait(procs, opts.killWaitMs ?? 10_000, opts.procRoot);
}

/** Resolves once none of `procs` runs (pid and start time), or after `waitMs`. */
async function waitProcsGone(procs: ProcPlace[], waitMs: number, procRoot?: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (procs.some((p) => sameProcessRunning(p, procRoot)) && Date.now() < deadline) await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
}

/** `signal` to `p` if it is still the same process (pid and start time). */
function signalProc(p: ProcPlace, signal: NodeJS.Signals, procRoot?: string): void {
  if (!sameProcessRunning(p, procRoot)) return;
  try {
    process.kill(p.pid, signal);
  } catch {
    // gone already
  }
}
