// Ending a run's process group: a graceful stop (stop signal, grace, SIGKILL), and after the
// leader's exit, what is left of its group, the descendants that left it (setsid) and every
// process carrying the mark of this warden's children (marker.ts), wherever it went.
import { escapedFrom, type TreeWalker } from '../procfs/tree.js';
import type { Logger } from '../../core/log.js';
import { escapedDescendants, killAndWait, mergeProcs, signalGroup, terminateGroup, waitGroupGone } from '../process-group.js';
import { readComm } from '../procfs/read.js';
import { sameProcessRunning, type ProcPlace } from '../procfs/stat.js';
import { markedLeftovers, type Marks } from './leftovers.js';
import type { Run } from './run-state.js';

/** Bound on waiting for a SIGKILLed group to vanish (a process in uninterruptible sleep). */
export const KILL_WAIT_MS = 10_000;
/** How long to wait for the child's pipes to drain after its group is gone, for the last lines. */
const DRAIN_WAIT_MS = 500;

export interface StopOptions {
  stopSignal: NodeJS.Signals;
  stopGraceS: number;
  procRoot?: string;
}

/**
 * Graceful stop of one run's group and of every process marked as this warden's children's
 * (the stop signal to each, the grace for all); idempotent. `onStopping` runs once, when a
 * signal is sent.
 */
export function terminateRun(run: Run, o: StopOptions & { marks: Marks; logger: Logger; child: string }, onStopping: () => void): Promise<boolean> {
  if (!run.terminating) {
    if (run.pid === null || run.exitSeen) {
      run.terminating = Promise.resolve(true);
    } else {
      onStopping();
      const pgid = run.pid;
      const outside = mergeProcs(run.escaped, markedLeftovers(o.marks, o.procRoot)).filter((p) => p.pgrp !== pgid && sameProcessRunning(p, o.procRoot));
      if (outside.length > 0) o.logger.warn({ child: o.child, pgid, processes: described(outside, o.procRoot), stop_signal: o.stopSignal }, 'stopping processes of the child outside its process group too');
      run.terminating = terminateGroup(pgid, {
        signal: o.stopSignal,
        graceMs: o.stopGraceS * 1000,
        killWaitMs: KILL_WAIT_MS,
        procRoot: o.procRoot,
        known: outside,
      });
    }
  }
  return run.terminating;
}

/** pid and command name (comm, never the arguments) of each, for the log. */
function described(procs: ProcPlace[], procRoot: string | undefined): { pid: number; comm: string }[] {
  return procs.map((p) => ({ pid: p.pid, comm: readComm(procRoot ?? '/proc', p.pid) }));
}

/**
 * Remembers the run's descendants outside its group that still run (once orphaned, no walk finds
 * them). The walk is the walker's latest of the child's tree when the governor made one within
 * `maxAgeMs`.
 */
export function sampleEscaped(run: Run, walker: TreeWalker, maxAgeMs: number): void {
  if (run.pid === null || run.exitSeen) return;
  const tree = walker.latest(run.pid, maxAgeMs).procs;
  run.escaped = mergeProcs(run.escaped, escapedFrom(run.pid, tree)).filter((p) => sameProcessRunning(p, walker.procRoot));
}

/** Those remembered, those a walk from the leader finds now, and every marked one, that still run. */
function runningEscaped(pid: number, run: Run, procRoot: string | undefined, marks: Marks): ProcPlace[] {
  return mergeProcs(mergeProcs(run.escaped, escapedDescendants(pid, procRoot)), markedLeftovers(marks, procRoot)).filter((p) => sameProcessRunning(p, procRoot));
}

/**
 * After the leader's exit: the rest of its group, its escaped descendants and every process
 * carrying this warden's mark are gone before this resolves, and the pipes are drained (bounded)
 * and closed.
 */
export async function clearLeftovers(run: Run & { pid: number }, procRoot: string | undefined, logger: Logger, child: string, marks: Marks): Promise<void> {
  // The leader is gone, but its workers may not be (fluentd's can outlive a killed supervisor and
  // hold the port). During a graceful stop they get the rest of the grace; otherwise SIGKILL now.
  const gone = run.terminating
    ? await run.terminating
    : (signalGroup(run.pid, 'SIGKILL'), await waitGroupGone(run.pid, KILL_WAIT_MS, { procRoot }));
  if (!gone) logger.error({ child, pgid: run.pid }, 'processes of the child group survived SIGKILL; going on');
  // Descendants that left the group (setsid, a double fork reparented to PID 1) would outlive the
  // child, keep its port and be shipped to while the next one waits: they go before any next start.
  const escaped = runningEscaped(run.pid, run, procRoot, marks);
  if (escaped.length > 0) {
    logger.warn({ child, pids: escaped.map((p) => p.pid), processes: described(escaped, procRoot) }, 'killing processes that left the child process group');
    await killAndWait(escaped, KILL_WAIT_MS, procRoot);
  }
  await Promise.race([run.streamsClosed, new Promise((r) => setTimeout(r, DRAIN_WAIT_MS))]);
  // A process that left the group (setsid) may still hold the pipes; do not keep them open for it.
  run.sub?.stdout?.destroy();
  run.sub?.stderr?.destroy();
}
