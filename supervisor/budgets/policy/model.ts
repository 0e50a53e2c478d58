// The budget policy's vocabulary: the actions it emits, the phases of a machine, its state, and
// the thresholds every machine reads. Types and constants only, besides the two timings.
import type { BudgetAction } from '../../../agent/health/labels.js';

export type Who = 'pod' | 'child' | 'agent';
export type Resource = 'cpu' | 'memory';
/** Which machine takes which: BUDGET_ACTIONS (the label values of warden_budget_violations_total). */
export type ActionKind = BudgetAction;

export interface Action {
  who: Who;
  resource: Resource;
  action: ActionKind;
  /**
   * window: chunks in flight, null = the configured maximum; throttle: bytes per second;
   * unthrottle: null; duty_cycle: stopped share 0..1 (0 ends it).
   */
  value?: number | null;
  detail: string;
}

/**
 * The life of one resource's budget:
 * - `normal`: under its pressure threshold; nothing held.
 * - `pressure`: over the threshold, not (yet) for long enough, or high enough, to act; a spike
 *   that ends here costs nothing. Back to `normal` only below the lower exit threshold (hysteresis).
 * - `acting`: levers pulled. Levers change at most once per dwell (DWELL_MS) while here, never at
 *   every sample — except the memory escalations, which are driven by the level reached.
 * - `recovered`: back under the exit threshold after at least one dwell in `acting`; the levers
 *   were released on entry. Over the pressure threshold again → `acting` at once; a dwell
 *   here → `normal`.
 * Every transition is reported once (the governor logs one line per transition).
 */
export type Phase = 'normal' | 'pressure' | 'acting' | 'recovered';

export const MACHINES = ['pod.memory', 'child.memory', 'child.cpu', 'agent.memory', 'agent.cpu'] as const;
export type MachineKey = (typeof MACHINES)[number];

export interface Machine {
  phase: Phase;
  /** When this phase was entered (monotonic ms). */
  since: number;
  /** Why: the detail of the transition into this phase. */
  reason: string;
  /** Escalation reached in `acting` (pod memory: 1 window, 2 flush, 3 restart; child memory: 1 flush, 2 restart). */
  step: number;
  /** When a lever last changed (monotonic ms). */
  changedAt: number;
  /** In `normal`: since when usage has been over, for a resource without a lever (it reports sustained use only). */
  overSince?: number | null;
}

export interface Transition {
  key: MachineKey;
  from: Phase;
  to: Phase;
  reason: string;
}

export interface PolicyParams {
  memorySustainMs: number;
  cpuSustainMs: number;
  cpuAction: 'throttle' | 'duty_cycle' | 'none';
  mode: 'kernel' | 'watchdog';
  sampleIntervalMs: number;
  /** Share of the pod's memory limit at which the child is restarted at once. */
  memoryHardShare: number;
}

export interface PolicySample {
  /** Monotonic milliseconds. */
  at: number;
  /**
   * The pod's cgroup working set, and its usage less clean file pages (what the kernel cannot
   * reclaim); null without a readable memory controller.
   */
  pod: { workingSetBytes: number | null; unreclaimableBytes: number | null };
  child: { pid: number; cpuMillicores: number | null; cpuMillicoresLast: number | null; memoryBytes: number } | null;
  /** memoryBytes: warden's anonymous RSS. */
  agent: { cpuMillicores: number | null; memoryBytes: number };
  /** What the tail pipeline read per second lately (warden_tail_bytes_read_total), the base of the first decrease. */
  readBytesPerSec: number | null;
}

export interface PolicyState {
  machines: Record<MachineKey, Machine>;
  childPid: number | null;
  /** A restart was asked for and has not settled: no further restarts until it does. */
  restarting: boolean;
  /** The child's previous memory sample and the growth (bytes/s) measured up to it. */
  childMemPrev: { at: number; bytes: number; growth: number } | null;
  /** The read rate each CPU machine asks for; the tail gets the lower (null = unlimited). */
  rateWanted: { child: number | null; agent: number | null };
  rateLimit: number | null;
  /** Share of each duty period the child spends stopped; 0 = not duty-cycling. */
  dutyStop: number;
  shedding: boolean;
  /** Chunks in flight asked of the Forward client; null = its configured maximum. */
  window: number | null;
}

export const RATE = {
  /** Above this the limit is lifted altogether. */
  ceilingBytesPerSec: 16 * 1024 * 1024,
  floorBytesPerSec: 64 * 1024,
  /** The strongest single decrease (halving) and the weakest (×0.9). */
  minFactor: 0.5,
  maxFactor: 0.9,
};

/** The stopped share's cap is the cycler's (MAX_STOP_FRACTION in duty.ts). */
export const DUTY = {
  /** Below this the duty cycle ends. */
  minStop: 0.02,
  /** Weight of the new estimate against the current stopped share (damps sample noise). */
  gain: 0.5,
};

/** Shares of the pod's memory limit (the working set's). The restart share is memory_hard_share. */
export const POD = { pressure: 0.75, flush: 0.85, exit: 0.65 };
/** Chunks in flight under pod memory pressure: enough to keep acks flowing, little for the child to buffer. */
export const POD_WINDOW = 2;
/** Shares of warden's own memory budget. */
export const SHED = { pressure: 0.8, on: 0.9, off: 0.8, exit: 0.7 };
/** Budget share below which CPU and child memory count as back under (hysteresis). */
export const EXIT_SHARE = 0.9;
/** Child memory at this share of its budget, or pod memory at POD.exit, makes the governor sample faster. */
export const NEAR_BUDGET = 0.8;
/** Time a flush-then-restart takes to land (two fast samples and the child's exit), for the growth projection. */
export const RESTART_LEAD_MS = 1500;

/** The minimum time in `acting` and in `recovered`, and between two lever changes. */
export function dwellMs(p: Pick<PolicyParams, 'sampleIntervalMs'>): number {
  return Math.max(3 * p.sampleIntervalMs, 3000);
}

export function fastIntervalMs(p: Pick<PolicyParams, 'sampleIntervalMs'>): number {
  return Math.max(100, Math.round(p.sampleIntervalMs / 4));
}

export function initialPolicyState(at = 0): PolicyState {
  const machines = {} as Record<MachineKey, Machine>;
  for (const k of MACHINES) machines[k] = { phase: 'normal', since: at, reason: 'start', step: 0, changedAt: at };
  return { machines, childPid: null, restarting: false, childMemPrev: null, rateWanted: { child: null, agent: null }, rateLimit: null, dutyStop: 0, shedding: false, window: null };
}

export interface Decision {
  state: PolicyState;
  actions: Action[];
  transitions: Transition[];
  /** When to sample next: faster near a memory limit, so a fast grower is caught between polls. */
  nextIntervalMs: number;
}
