// Ending a run's process group: a graceful stop (stop signal, grace, SIGKILL), and after the
// leader's exit, what is left of its group and the descendants that left it (setsid).
import { escapedFrom, type TreeWalker } from '../procfs/tree.js';
import type { Logger } from '../../core/log.js';
import { escapedDescendants, killAndWait, mergeProcs, signalGroup, terminateGroup, waitGroupGone } from '../process-group.js';
import { sameProcessRunning } from '../procfs/stat.js';
import type { Run } from './run-state.js';

/** Bound on waiting for a SIGKILLed group to vanish (a process in uninterruptible sleep). */
const KILL_WAIT_MS = 10_000;
/** How long to wait for the child's pipes to drain after its group is gone, for the last lines. */
const DRAIN_WAIT_MS = 500;

export interface StopOptions {
  stopSignal: NodeJS.Signals;
  stopGraceS: number;
  procRoot?: string;
}

/** Graceful stop of one run's group; idempotent. `onStopping` runs once, when a signal is sent. */
export function terminateRun(run: Run, o: StopOptions, onStopping: () => void): Promise<boolean> {
  if (!run.terminating) {
    if (run.pid === null || run.exitSeen) {
      run.terminating = Promise.resolve(true);
    } else {
      onStopping();
      run.terminating = terminateGroup(run.pid, {
        signal: o.stopSignal,
        graceMs: o.stopGraceS * 1000,
        killWaitMs: KILL_WAIT_MS,
        procRoot: o.procRoot,
        known: run.escaped,
      });
    }
  }
  return run.terminating;
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

/** Those remembered and those a walk from the leader finds now, that still run. */
function runningEscaped(pid: number, run: Run, procRoot: string | undefined) {
  return mergeProcs(run.escaped, escapedDescendants(pid, procRoot)).filter((p) => sameProcessRunning(p, procRoot));
}

/**
 * After the leader's exit: the rest of its group and its escaped descendants are gone before this
 * resolves, and the pipes are drained (bounded) and closed.
 */
export async function clearLeftovers(run: Run & { pid: number }, procRoot: string | undefined, logger: Logger, child: string): Promise<void> {
  // The leader is gone, but its workers may not be (fluentd's can outlive a killed supervisor and
  // hold the port). During a graceful stop they get the rest of the grace; otherwise SIGKILL now.
  const gone = run.terminating
    ? await run.terminating
    : (signalGroup(run.pid, 'SIGKILL'), await waitGroupGone(run.pid, KILL_WAIT_MS, { procRoot }));
  if (!gone) logger.error({ child, pgid: run.pid }, 'processes of the child group survived SIGKILL; going on');
  // Descendants that left the group (setsid) would outlive the child, keep its port and be
  // shipped to while the next one waits: they go before any next start.
  const escaped = runningEscaped(run.pid, run, procRoot);
  if (escaped.length > 0) {
    logger.warn({ child, pids: escaped.map((p) => p.pid) }, 'killing processes that left the child process group');
    await killAndWait(escaped, KILL_WAIT_MS, procRoot);
  }
  await Promise.race([run.streamsClosed, new Promise((r) => setTimeout(r, DRAIN_WAIT_MS))]);
  // A process that left the group (setsid) may still hold the pipes; do not keep them open for it.
  run.sub?.stdout?.destroy();
  run.sub?.stderr?.destroy();
}
