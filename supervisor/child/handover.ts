// fluentd ≥ 1.18 answers SIGUSR2 to its supervisor with a zero-downtime restart: a new supervisor
// is spawned into the same group, takes over the sockets, and the old one exits. Its exit then is
// a handover, not a crash: the topmost survivor of the group becomes the leader and is polled for
// its exit (it is not our child, so no exit event comes for it).
import { listProcs } from '../procfs/tree.js';
import { identity, readStat, type ProcPlace as ProcStat } from '../procfs/stat.js';
import { leaderPid, type Run } from './run-state.js';

/**
 * After a reload signal, how long an exit of the leader that leaves a successor in its group is
 * taken for a handover (fluentd's old supervisor exits about 10 s after the new one is up).
 */
export const HANDOVER_WINDOW_MS = 120_000;
/** How often a followed successor (not our child: no exit event) is checked for being gone. */
const FOLLOW_POLL_MS = 200;

/** The successor the leader's exit handed over to, or null when this exit is an ordinary one. */
export function findSuccessor(run: Run, code: number | null, signal: NodeJS.Signals | null, now: number, procRoot: string | undefined): ProcStat | null {
  if (run.pid === null || run.reloadedAt === null) return null;
  // code null with no signal: a followed successor found gone by the poll, which may hand over again.
  if (now - run.reloadedAt > HANDOVER_WINDOW_MS || signal !== null || (code !== 0 && code !== null)) return null;
  const old = leaderPid(run);
  const members = listProcs(procRoot).filter((p) => p.pgrp === run.pid && p.pid !== old && p.state !== 'Z');
  const inGroup = new Set(members.map((p) => p.pid));
  // The successor started after the signal (an orphaned worker of a crashed leader did not),
  // and its parent (the old leader) is gone, so no member of the group is its parent.
  const tops = members.filter((p) => !run.groupAtReload.has(identity(p)) && !inGroup.has(p.ppid)).sort((a, b) => b.starttime - a.starttime);
  return tops[0] ?? null;
}

/** Makes `next` the run's leader and calls `onGone` once it is gone (or a zombie waiting for PID 1). */
export function followSuccessor(run: Run, next: ProcStat, procRoot: string | undefined, onGone: () => void): void {
  run.leader = next;
  run.reloadedAt = null; // one handover per reload signal
  if (run.followTimer) clearInterval(run.followTimer);
  run.followTimer = setInterval(() => {
    const now = readStat(next.pid, procRoot);
    if (now && now.starttime === next.starttime && now.state !== 'Z') return;
    // No exit status to be had for a process that is not ours.
    onGone();
  }, FOLLOW_POLL_MS);
}
