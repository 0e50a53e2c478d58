// What a ChildSupervisor is told: the command, its environment, its signals and its time limits.
import type { TreeWalker } from '../procfs/tree.js';
import type { Metrics } from '../../agent/health/metrics.js';
import type { Logger } from '../../core/log.js';
import type { RestartPolicyConfig } from '../../core/restart-policy.js';
import type { Marks } from './leftovers.js';

export interface ChildOptions {
  command: string[];
  /** The command as configured (`${VAR}` unexpanded): what status and the log show. Default `command`. */
  shownCommand?: string[];
  /** Extra environment on top of `baseEnv` (e.g. WARDEN_FORWARD_SHARED_KEY). Values are never logged. */
  env: Record<string, string>;
  /** The environment the child starts from (default process.env); systemd's notify variables are never passed on. */
  baseEnv?: NodeJS.ProcessEnv;
  stopSignal: NodeJS.Signals;
  reloadSignal: NodeJS.Signals;
  checkCommand?: string[];
  /** `checkCommand` as configured: what the log and /status show. Default `checkCommand`. */
  shownCheckCommand?: string[];
  /** How long a check command may run before it is killed and the reload refused. Default 60. */
  checkTimeoutS?: number;
  stopGraceS: number;
  readyTimeoutS: number;
  restart: RestartPolicyConfig;
  /** tcp://HOST:PORT | unix:///PATH — the child is ready when this accepts a connection. */
  forwardTo: string;
  /**
   * How readiness is decided, instead of a bare connect to `forwardTo` (which a process squatting on
   * the port passes too): warden passes "its Forward client completed the handshake".
   */
  readyProbe?: (opts: { timeoutMs: number; signal: AbortSignal }) => Promise<boolean>;
  /**
   * Whether the child is reachable right now, asked while another process held the Forward port
   * and once it no longer does: warden passes "its Forward client is connected". Default: a
   * bare connect to `forwardTo`.
   */
  readyNow?: () => boolean | Promise<boolean>;
  /** What kept the child from being ready, named in the ready-timeout warning: warden passes its Forward client's last connection end. */
  notReadyReason?: () => string | null;
  logger: Logger;
  metrics: Metrics;
  /** Directory holding memory.events (v2) or memory.oom_control (v1); default: this process's memory cgroup. */
  cgroupRoot?: string;
  /** Where to look for process-group members (zombie detection). Default /proc. */
  procRoot?: string;
  /**
   * Walks the child's process tree; shared with the budget governor so that one walk a second
   * serves both. Default: a walker of its own.
   */
  walker?: TreeWalker;
  random?: () => number;
  /** A monotonic clock in ms (default performance.now); never compared with wall-clock times. */
  now?: () => number;
  /**
   * The mark of this warden's children (marker.ts, leftovers.ts), and the warden before's, from
   * state_dir, whose leftovers are stopped before the first start. Default: a fresh token, and no
   * warden before.
   */
  marks?: Marks;
  /** Each line of the child's output (redacted), e.g. to see it say that its output cannot deliver. */
  onOutputLine?: (line: string) => void;
}

/** A command to run, and the form of it that is shown: as configured, `${VAR}` unexpanded. */
export interface ShownCommand {
  run: string[];
  shown: string[];
}

/** Lines kept for crash reports. */
export const LAST_LINES = 200;
