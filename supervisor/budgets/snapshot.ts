// What /status shows of the budgets: the limits, the budgets in force, the latest usage, each
// machine's phase and the levers held, and one formatted row per machine for `warden status`.
import { mi, millicores } from '../../core/units.js';
import type { ActionLog, ActionRecord } from './action-log.js';
import type { Limits } from '../cgroup/limits.js';
import type { Budgets } from './derive.js';
import type { NodeFigures } from './node.js';
import { MACHINES, type MachineKey, type Phase, type PolicyState } from './policy.js';
import { podHeldBytes } from './policy/pod-memory.js';
import { niceOf } from './priority.js';
import type { SelfSample, TreeSample } from './proc.js';

export type BudgetMode = 'kernel' | 'watchdog';

export type { ActionRecord };

export interface BudgetSnapshot {
  mode: BudgetMode;
  mode_reason: string;
  limits: Limits;
  /**
   * The pod: the container's limits and its cgroup's usage (working set = usage less inactive
   * file, as the kubelet counts; unreclaimable = usage less clean file pages, what an OOM kill counts).
   */
  pod: {
    cpu_limit_millicores: number | null;
    memory_limit_bytes: number | null;
    working_set_bytes: number | null;
    unreclaimable_bytes: number | null;
    cpu_millicores: number | null;
  };
  budgets: {
    child: { cpu_millicores: number; cpu_enforced: boolean; memory_bytes: number };
    agent: { cpu_millicores: number | null; cpu_enforced: boolean; memory_bytes: number };
    child_hard_memory_bytes: number;
    how: string;
  };
  usage: {
    child: { pid: number; pids: number[]; cpu_millicores: number | null; rss_bytes: number; pss_bytes: number | null; memory_bytes: number; share_of_pod: number | null } | null;
    /** memory_bytes: anonymous RSS, what the agent's budget compares. */
    agent: { cpu_millicores: number | null; rss_bytes: number; memory_bytes: number; share_of_pod: number | null } | null;
    node: NodeFigures | null;
  };
  /** One state machine per resource: its phase, since when, and why. */
  states: Record<MachineKey, { state: Phase; since_s: number; reason: string }>;
  enforcement: {
    read_rate_limit_bytes_per_s: number | null;
    duty_stop_fraction: number;
    shedding: boolean;
    /** Chunks in flight asked of the Forward client; null = forward.max_inflight_batches. */
    max_inflight: number | null;
    /** Nice values: warden's main thread and the child's root process (null when unknown). */
    nice: { agent: number | null; child: number | null };
  };
  /** Counts of violations by `who.resource.action`. */
  violations: Record<string, number>;
  /** The most recent actions, oldest first. */
  actions: ActionRecord[];
  /** One row per resource (state machine), formatted for `warden status`. */
  rows: { resource: MachineKey; state: Phase; usage: string; budget: string; reason: string; actions: number }[];
}

/** The pod's latest figures: its cgroup's working set and CPU. */
export interface PodFigures {
  workingSetBytes: number | null;
  unreclaimableBytes: number | null;
  cpuMillicores: number | null;
}

/** What the governor knows at one instant, from which the snapshot is made. */
export interface SnapshotInput {
  at: number;
  mode: BudgetMode;
  modeReason: string;
  limits: Limits;
  budgets: Budgets;
  state: PolicyState;
  child: TreeSample | null;
  self: SelfSample | null;
  pod: PodFigures;
  node: NodeFigures | null;
  childPid: number | null;
  actions: ActionLog;
}

export function budgetSnapshot(i: SnapshotInput): BudgetSnapshot {
  const { child: c, self: a, budgets: b } = i;
  const podLimit = b.pod.memoryBytes;
  const share = (n: number) => (podLimit ? +(n / podLimit).toFixed(3) : null);
  const states = machineStates(i.state, i.at);
  return {
    mode: i.mode,
    mode_reason: i.modeReason,
    limits: i.limits,
    pod: { cpu_limit_millicores: b.pod.cpuMillicores, memory_limit_bytes: podLimit, working_set_bytes: i.pod.workingSetBytes, unreclaimable_bytes: i.pod.unreclaimableBytes, cpu_millicores: i.pod.cpuMillicores },
    budgets: {
      child: { cpu_millicores: b.child.cpuMillicores, cpu_enforced: b.child.cpuEnforced, memory_bytes: b.child.memoryBytes },
      agent: { cpu_millicores: b.agent.cpuMillicores, cpu_enforced: b.agent.cpuEnforced, memory_bytes: b.agent.memoryBytes },
      child_hard_memory_bytes: b.childHardMemoryBytes,
      how: b.how,
    },
    usage: {
      child: c
        ? { pid: c.rootPid, pids: c.pids, cpu_millicores: c.cpuMillicores, rss_bytes: c.rssBytes, pss_bytes: c.pssBytes, memory_bytes: c.memoryBytes, share_of_pod: share(c.memoryBytes) }
        : null,
      agent: a ? { cpu_millicores: a.cpuMillicores, rss_bytes: a.rssBytes, memory_bytes: a.anonBytes, share_of_pod: share(a.anonBytes) } : null,
      node: i.node,
    },
    states,
    enforcement: {
      read_rate_limit_bytes_per_s: i.state.rateLimit,
      duty_stop_fraction: i.state.dutyStop,
      shedding: i.state.shedding,
      max_inflight: i.state.window,
      nice: { agent: niceOf(0), child: i.childPid === null ? null : niceOf(i.childPid) },
    },
    violations: { ...i.actions.violations },
    actions: [...i.actions.records],
    rows: rows(i, states),
  };
}

function machineStates(state: PolicyState, at: number): BudgetSnapshot['states'] {
  const states = {} as BudgetSnapshot['states'];
  for (const k of MACHINES) {
    const m = state.machines[k];
    states[k] = { state: m.phase, since_s: Math.round((at - m.since) / 100) / 10, reason: m.reason };
  }
  return states;
}

function rows(i: SnapshotInput, states: BudgetSnapshot['states']): BudgetSnapshot['rows'] {
  const { child: c, self: a, budgets: b } = i;
  const cpuBudget = (n: number | null, enforced: boolean) => (n === null ? '-' : `${n}m${enforced ? '' : ' (share)'}`);
  const usage: Record<MachineKey, [string, string]> = {
    // What the pod machine acts on: unreclaimable, capped at the working set (podHeldBytes).
    'pod.memory': [mi(i.pod.workingSetBytes === null ? null : podHeldBytes(i.pod)), mi(b.pod.memoryBytes)],
    'child.memory': [mi(c?.memoryBytes), mi(b.child.memoryBytes)],
    'child.cpu': [millicores(c?.cpuMillicores), cpuBudget(b.child.cpuMillicores, b.child.cpuEnforced)],
    'agent.memory': [mi(a?.anonBytes), mi(b.agent.memoryBytes)],
    'agent.cpu': [millicores(a?.cpuMillicores), cpuBudget(b.agent.cpuMillicores, b.agent.cpuEnforced)],
  };
  return MACHINES.map((k) => ({ resource: k, state: states[k].state, usage: usage[k][0], budget: usage[k][1], reason: states[k].reason, actions: i.actions.count(k) }));
}
