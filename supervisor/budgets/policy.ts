// The budget policy as a pure function: one sample and the previous state in, the next state and
// the actions to take out. The governor does the I/O (signals, restarts, rate limits); this file
// decides, so every rule below is unit-tested without processes or clocks.
//
// Child memory (always, whatever cpu_action):
//   at or over the hard ceiling                    → restart at once
//   over budget for memory_sustain_s               → flush (SIGUSR1)
//   still over at the next check after the flush   → restart (`budget_memory`)
//   under budget                                   → episode over, counters reset
// Child CPU (watchdog mode):
//   over budget (window average)                   → lower warden's read rate (multiplicative decrease)
//   under budget, and the agent under its own      → raise it again (additive increase), then lift it
//   over for cpu_sustain_s with duty_cycle          → SIGSTOP/SIGCONT slices, stopped share adjusted each sample
//   cpu_action none                                → one `report` per episode, nothing else
// Kernel mode: cpu.max holds the child, so CPU is reported and throttled but never duty-cycled.
// Agent: memory at SHED_ON × budget → shed; back under SHED_OFF × budget → stop shedding.
//   CPU over budget → the same read-rate decrease (reading is most of warden's work).
import type { Budgets } from './derive.js';

export type Who = 'child' | 'agent';
export type Resource = 'cpu' | 'memory';
export type ActionKind = 'flush' | 'restart' | 'throttle' | 'unthrottle' | 'duty_cycle' | 'shed' | 'unshed' | 'report';

export interface Action {
  who: Who;
  resource: Resource;
  action: ActionKind;
  /** throttle/unthrottle: bytes per second or null (unlimited); duty_cycle: stopped share 0..1. */
  value?: number | null;
  /** Counted in warden_budget_violations_total and logged at warn; others are adjustments, logged at debug. */
  violation: boolean;
  detail: string;
}

export interface PolicyParams {
  memorySustainMs: number;
  cpuSustainMs: number;
  cpuAction: 'throttle' | 'duty_cycle' | 'none';
  mode: 'kernel' | 'watchdog';
  sampleIntervalMs: number;
}

export interface PolicySample {
  /** Monotonic milliseconds. */
  at: number;
  child: { pid: number; cpuMillicores: number | null; cpuMillicoresLast: number | null; memoryBytes: number } | null;
  agent: { cpuMillicores: number | null; memoryBytes: number };
  /** What the tail pipeline read per second lately (warden_tail_bytes_read_total), the base of the first decrease. */
  readBytesPerSec: number | null;
}

export interface PolicyState {
  childPid: number | null;
  memOverSince: number | null;
  flushedAt: number | null;
  /** A restart was asked for and has not settled: no further memory actions until it does. */
  restarting: boolean;
  cpuOverSince: number | null;
  cpuReported: boolean;
  rateLimit: number | null;
  /** Share of each duty period the child spends stopped; 0 = not duty-cycling. */
  dutyStop: number;
  shedding: boolean;
}

export const RATE = {
  /** Above this the limit is lifted altogether. */
  ceilingBytesPerSec: 16 * 1024 * 1024,
  floorBytesPerSec: 64 * 1024,
  stepBytesPerSec: 1024 * 1024,
  /** The strongest single decrease (halving) and the weakest (×0.9). */
  minFactor: 0.5,
  maxFactor: 0.9,
};

export const DUTY = {
  /** Never stopped for the whole period: the child must run to answer Forward and signals. */
  maxStop: 0.95,
  /** Below this the duty cycle ends. */
  minStop: 0.02,
  /** Weight of the new estimate against the current stopped share (damps sample noise). */
  gain: 0.5,
};

export const SHED_ON = 0.9;
export const SHED_OFF = 0.8;
/** Child memory at this share of its budget makes the governor sample faster (see nextIntervalMs). */
export const NEAR_BUDGET = 0.8;

export function initialPolicyState(): PolicyState {
  return {
    childPid: null,
    memOverSince: null,
    flushedAt: null,
    restarting: false,
    cpuOverSince: null,
    cpuReported: false,
    rateLimit: null,
    dutyStop: 0,
    shedding: false,
  };
}

export interface Decision {
  state: PolicyState;
  actions: Action[];
  /** When to sample next: faster while child memory is near or over budget, so a fast grower is caught between polls. */
  nextIntervalMs: number;
}

const mib = (b: number) => `${(b / 1048576).toFixed(1)}MiB`;

export function decide(prev: PolicyState, sample: PolicySample, budgets: Budgets, params: PolicyParams): Decision {
  const state: PolicyState = { ...prev };
  const actions: Action[] = [];
  const at = sample.at;
  const child = sample.child;

  // A new child (or none): its predecessor's episodes are over. A stopped share never outlives its process.
  if ((child?.pid ?? null) !== state.childPid) {
    if (state.dutyStop > 0) actions.push({ who: 'child', resource: 'cpu', action: 'duty_cycle', value: 0, violation: false, detail: 'child changed' });
    Object.assign(state, { childPid: child?.pid ?? null, memOverSince: null, flushedAt: null, restarting: false, cpuOverSince: null, cpuReported: false, dutyStop: 0 });
  }

  if (child) decideChildMemory(state, actions, child, budgets, params, at);
  const childCpuOver = child ? decideChildCpu(state, actions, child, budgets, params, at) : false;
  decideAgent(state, actions, sample, budgets, childCpuOver);

  const near = child !== null && (child.memoryBytes >= budgets.child.memoryBytes * NEAR_BUDGET || state.memOverSince !== null);
  const nextIntervalMs = near ? Math.max(100, Math.round(params.sampleIntervalMs / 4)) : params.sampleIntervalMs;
  return { state, actions, nextIntervalMs };
}

function decideChildMemory(state: PolicyState, actions: Action[], child: NonNullable<PolicySample['child']>, budgets: Budgets, params: PolicyParams, at: number): void {
  const budget = budgets.child.memoryBytes;
  const used = child.memoryBytes;
  if (used <= budget) {
    state.memOverSince = null;
    state.flushedAt = null;
    return;
  }
  state.memOverSince ??= at;
  if (state.restarting) return;
  if (used >= budgets.childHardMemoryBytes) {
    state.restarting = true;
    actions.push({ who: 'child', resource: 'memory', action: 'restart', violation: true, detail: `${mib(used)} at or over the hard ceiling ${mib(budgets.childHardMemoryBytes)}` });
    return;
  }
  if (state.flushedAt !== null) {
    state.restarting = true;
    actions.push({ who: 'child', resource: 'memory', action: 'restart', violation: true, detail: `${mib(used)} still over budget ${mib(budget)} after the flush` });
    return;
  }
  if (at - state.memOverSince >= params.memorySustainMs) {
    state.flushedAt = at;
    actions.push({ who: 'child', resource: 'memory', action: 'flush', violation: true, detail: `${mib(used)} over budget ${mib(budget)} for ${((at - state.memOverSince) / 1000).toFixed(1)}s` });
  }
}

/** Returns whether the child is over its CPU budget in a way that should lower the read rate. */
function decideChildCpu(state: PolicyState, actions: Action[], child: NonNullable<PolicySample['child']>, budgets: Budgets, params: PolicyParams, at: number): boolean {
  const budget = budgets.child.cpuMillicores;
  const used = child.cpuMillicores;
  if (used === null) return false;
  const over = used > budget;
  if (over) state.cpuOverSince ??= at;
  else if (state.dutyStop === 0) {
    state.cpuOverSince = null;
    state.cpuReported = false;
  }
  const sustained = state.cpuOverSince !== null && at - state.cpuOverSince >= params.cpuSustainMs;

  if (params.cpuAction === 'none' || params.mode === 'kernel') {
    if (sustained && !state.cpuReported) {
      state.cpuReported = true;
      const why = params.mode === 'kernel' ? 'held by cpu.max' : 'cpu_action none';
      actions.push({ who: 'child', resource: 'cpu', action: 'report', violation: true, detail: `${used}m over budget ${budget}m for ${((at - state.cpuOverSince!) / 1000).toFixed(1)}s (${why})` });
    }
    return params.mode === 'kernel' && over;
  }

  if (params.cpuAction === 'duty_cycle' && (state.dutyStop > 0 || sustained)) {
    const last = child.cpuMillicoresLast ?? used;
    // What the child would use unstopped: measured usage scaled up by the share it was allowed to run.
    const demand = last / (1 - state.dutyStop);
    const target = demand > 0 ? Math.min(DUTY.maxStop, 1 - budget / demand) : 0;
    const next = state.dutyStop === 0 ? target : state.dutyStop + DUTY.gain * (target - state.dutyStop);
    const clamped = next < DUTY.minStop ? 0 : Math.min(DUTY.maxStop, next);
    if (state.dutyStop === 0 && clamped > 0) {
      actions.push({ who: 'child', resource: 'cpu', action: 'duty_cycle', value: round3(clamped), violation: true, detail: `${used}m over budget ${budget}m for ${((at - state.cpuOverSince!) / 1000).toFixed(1)}s: stopped ${Math.round(clamped * 100)}% of each 100ms` });
    } else if (clamped !== state.dutyStop) {
      actions.push({ who: 'child', resource: 'cpu', action: 'duty_cycle', value: round3(clamped), violation: false, detail: clamped === 0 ? `demand ${Math.round(demand)}m within budget ${budget}m: duty cycle ended` : `last ${last}m, demand ${Math.round(demand)}m` });
    }
    state.dutyStop = clamped;
    if (clamped === 0) {
      state.cpuOverSince = null;
      return false;
    }
  }
  return over;
}

function decideAgent(state: PolicyState, actions: Action[], sample: PolicySample, budgets: Budgets, childCpuOver: boolean): void {
  const mem = sample.agent.memoryBytes;
  const memBudget = budgets.agent.memoryBytes;
  if (!state.shedding && mem >= memBudget * SHED_ON) {
    state.shedding = true;
    actions.push({ who: 'agent', resource: 'memory', action: 'shed', violation: true, detail: `${mib(mem)} at ${Math.round((mem / memBudget) * 100)}% of budget ${mib(memBudget)}` });
  } else if (state.shedding && mem <= memBudget * SHED_OFF) {
    state.shedding = false;
    actions.push({ who: 'agent', resource: 'memory', action: 'unshed', violation: false, detail: `${mib(mem)} back under ${SHED_OFF * 100}% of budget ${mib(memBudget)}` });
  }

  const agentCpu = sample.agent.cpuMillicores;
  const agentCpuOver = agentCpu !== null && agentCpu > budgets.agent.cpuMillicores;
  const child = sample.child;
  if (childCpuOver || agentCpuOver) {
    const [who, used, budget] = childCpuOver && child ? (['child', child.cpuMillicores ?? 0, budgets.child.cpuMillicores] as const) : (['agent', agentCpu ?? 0, budgets.agent.cpuMillicores] as const);
    const base = state.rateLimit ?? (sample.readBytesPerSec && sample.readBytesPerSec > 0 ? Math.min(sample.readBytesPerSec, RATE.ceilingBytesPerSec) : RATE.ceilingBytesPerSec);
    const factor = Math.min(RATE.maxFactor, Math.max(RATE.minFactor, budget / Math.max(1, used)));
    const next = Math.max(RATE.floorBytesPerSec, Math.round(base * factor));
    if (next !== state.rateLimit) {
      state.rateLimit = next;
      actions.push({ who, resource: 'cpu', action: 'throttle', value: next, violation: true, detail: `${used}m over budget ${budget}m: read rate ${Math.round(next / 1024)}KiB/s` });
    }
  } else if (state.rateLimit !== null) {
    const next = state.rateLimit + RATE.stepBytesPerSec;
    state.rateLimit = next >= RATE.ceilingBytesPerSec ? null : next;
    actions.push({ who: 'child', resource: 'cpu', action: 'unthrottle', value: state.rateLimit, violation: false, detail: state.rateLimit === null ? 'read rate limit lifted' : `read rate ${Math.round(next / 1024)}KiB/s` });
  }
}

/** The governor calls this when a restart it asked for has settled (done or failed). */
export function restartSettled(state: PolicyState): PolicyState {
  return { ...state, restarting: false, memOverSince: null, flushedAt: null };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
