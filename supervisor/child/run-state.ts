// One run of the child: from one spawn to the end of handling its exit. A ChildSupervisor has at
// most one; every timer and promise of a run lives here and ends with it.
import type { ResultPromise } from 'execa';
import type { RestartReason } from '../../core/contracts.js';
import type { ChildOutput } from '../child-output.js';
import type { ProcPlace } from '../procfs/stat.js';
import type { RestartPolicyState } from '../../core/restart-policy.js';

/** Why we ended a run ourselves: a stop, or a restart counted under `reason`. */
export type Intent = { kind: 'stop' } | { kind: 'restart'; reason: RestartReason | 'ready_timeout'; immediate: boolean };

export interface Run {
  /** WARDEN_CHILD in this run's environment (marker.ts): what its descendants carry. */
  marker: string;
  sub: ResultPromise | null;
  /** The process we spawned: the leader of the child's process group, and that group's id. */
  pid: number | null;
  /**
   * The process that gets the reload signal and is reported as the child's pid: the spawned one,
   * or, after a handover, its successor in the same group.
   */
  leader: ProcPlace | null;
  /** When the last reload signal was sent (monotonic ms); null before. */
  reloadedAt: number | null;
  /** The group's processes (`pid:starttime`) when it was sent: none of them is a successor. */
  groupAtReload: Set<string>;
  /**
   * A reload signal came while one sent before could still be handing over: fluentd 1.18 drops a
   * SIGUSR2 that arrives during its zero-downtime restart, so the successor gets it again.
   */
  reloadAgain: boolean;
  followTimer: NodeJS.Timeout | null;
  startedAt: number;
  /** The restart policy as this run began: a hung run's stable time does not count as stable. */
  policyAtStart: RestartPolicyState;
  oomBefore: number | null;
  ready: boolean;
  /** Another process held the Forward port when the child was found reachable: not ready while it does. */
  portHeldBy: { pid: number; comm: string } | null;
  /** Re-checks the port holder while `portHeldBy` is set. */
  portTimer: NodeJS.Timeout | null;
  /** Looks at who holds the Forward port while the child starts, before its readiness probe answers. */
  holderTimer: NodeJS.Timeout | null;
  intent: Intent | null;
  exitSeen: boolean;
  terminating: Promise<boolean> | null;
  abort: AbortController;
  stableTimer: NodeJS.Timeout | null;
  /** Descendants seen outside the child's process group, still running when last looked at. */
  escaped: ProcPlace[];
  sampleTimer: NodeJS.Timeout | null;
  streamsClosed: Promise<void>;
  /** This run's output: its last lines are this child's only, never an earlier one's. */
  output: ChildOutput;
  /** Resolves once the exit has been handled (group gone, ExitInfo recorded, next step taken). */
  done: Promise<void>;
  resolveDone: () => void;
}

/** A run not spawned yet. */
export function newRun(fields: { marker: string; startedAt: number; policyAtStart: RestartPolicyState; oomBefore: number | null; output: ChildOutput }): Run {
  let resolveDone!: () => void;
  return {
    ...fields,
    sub: null,
    pid: null,
    leader: null,
    reloadedAt: null,
    groupAtReload: new Set(),
    reloadAgain: false,
    followTimer: null,
    ready: false,
    portHeldBy: null,
    portTimer: null,
    holderTimer: null,
    intent: null,
    exitSeen: false,
    terminating: null,
    abort: new AbortController(),
    stableTimer: null,
    escaped: [],
    sampleTimer: null,
    streamsClosed: Promise.resolve(),
    done: new Promise<void>((r) => (resolveDone = r)),
    resolveDone: () => resolveDone(),
  };
}

/** True while the run's spawned process lives (no exit seen). */
export function isRunning(run: Run | null): run is Run & { pid: number } {
  return run !== null && run.pid !== null && !run.exitSeen;
}

/** The run's process as users see it: the spawned one, or the successor followed after a handover. */
export function leaderPid(run: Run): number | null {
  return run.leader?.pid ?? run.pid;
}

