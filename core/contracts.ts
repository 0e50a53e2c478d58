// The small interfaces through which the composition root (supervisor/run.ts) wires the four
// parts that do not know each other: the child, the tail pipeline, the budget governor and the
// health server. Each part takes its logger, metrics and clock as arguments.

/**
 * The child's life, as a state machine:
 * - `starting`: spawned, waiting for `forward.to` to accept a connection → `ready` | `backoff`.
 * - `ready`: accepting Forward connections → `backoff` (it exited) | `stopping`.
 * - `backoff`: exited, waiting out the restart delay → `starting` | `stopped`.
 * - `stopping`: stop signal sent, waiting `stop_grace_s` before SIGKILL → `stopped`.
 * - `stopped`: not running and not going to be (before start, after stop).
 * `degraded` is a flag beside the state: repeated fast failures, retried at the maximum delay.
 */
export type ChildState = 'starting' | 'ready' | 'backoff' | 'stopping' | 'stopped';

/**
 * The kinds of a child exit: how it ended (`exited`, `signaled`, `oom_killed`, `config_error`,
 * `start_failed`, `vanished`: a followed successor found gone, with no exit status to read) or,
 * for a restart warden asked for, why (`budget_memory`, `hung`, `ready_timeout`, `reload`). Also the `reason` label of `warden_child_restarts_total`.
 */
export const EXIT_KINDS = ['exited', 'signaled', 'oom_killed', 'config_error', 'start_failed', 'vanished', 'budget_memory', 'hung', 'ready_timeout', 'reload'] as const;
export type ExitKind = (typeof EXIT_KINDS)[number];

/** Why the child's previous run ended. */
export interface ExitInfo {
  kind: ExitKind;
  /** Human form: `exited(1)`, `signaled(SIGKILL)`, `start_failed(ENOENT)`, `budget_memory`. */
  reason: string;
  code: number | null;
  signal: string | null;
  at: string;
  uptime_s: number;
  /** The last lines the child printed (at most 200). */
  last_lines?: string[];
}

export interface ChildStatus {
  pid: number | null;
  state: ChildState;
  degraded: boolean;
  uptime_s: number;
  restarts: number;
  last_exit: ExitInfo | null;
  /** Delay before the next start while in `backoff`. */
  next_start_in_ms: number | null;
  command: string[];
  /**
   * A process other than the child and its descendants listening on the Forward port while the
   * child starts: what warden sends could go there, so the child is not `ready` while it does.
   */
  port_held_by: { pid: number; comm: string } | null;
}

/** Reasons the governor or hang detector can ask for a restart. */
export type RestartReason = 'budget_memory' | 'hung' | 'reload';

export interface ChildHandle {
  status(): ChildStatus;
  /** pid of the process-group leader, when running. */
  pid(): number | null;
  /** Signal the child's whole process group. Returns false when nothing is running. */
  signalGroup(signal: NodeJS.Signals): boolean;
  /** Graceful restart (stop signal, grace, SIGKILL), counted under `reason`; no backoff delay. */
  restart(reason: RestartReason): Promise<void>;
  on(event: 'state', fn: (s: ChildStatus) => void): unknown;
}

/** What the tail pipeline offers the supervisor and the budget governor. */
export interface TailControl {
  /** Bytes per second the readers may read in total; null = unlimited. The CPU-budget lever. */
  setRateLimit(bytesPerSec: number | null): void;
  /** Shed memory: close idle files, smaller batches. */
  shed(on: boolean): void;
}

export interface HealthVerdict {
  ok: boolean;
  reasons: string[];
}
