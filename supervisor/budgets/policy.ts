// The budget policy as a pure function: one sample and the previous state in, the next state, the
// state transitions and the actions to take out. The governor does the I/O (signals, restarts,
// the read rate, the in-flight window, shedding); this file decides, so every rule is tested
// over recorded sample series without processes or clocks.
//
// Five resources, each with its own state machine (see Machine): the pod's memory, the child's
// memory and CPU, warden's own memory and CPU. Their levers, in the order they are pulled:
//   pod memory    working set ≥ POD.pressure of the limit → fewer chunks in flight (the files are
//                 the buffer) → ≥ POD.flush: SIGUSR1 to the child → ≥ memory_hard_share: graceful
//                 restart of the child. All before the kernel's OOM killer at 100%.
//   child memory  over its budget for memory_sustain_s (sooner when its growth would reach the hard
//                 ceiling first) → flush → still over at the next sample → restart; at or over the
//                 hard ceiling → restart at once.
//   child cpu     cpu_action duty_cycle: SIGSTOP/SIGCONT slices after cpu_sustain_s (watchdog mode);
//                 cpu_action throttle: warden's read rate, only for a budget set explicitly below
//                 the container's; cpu_action none, kernel mode or a derived budget: no action.
//   agent memory  anonymous RSS ≥ SHED.on of its budget → shed (smaller batches, idle files closed).
//   agent cpu     the read rate, only for a budget set explicitly below the container's.
import { kibPerSec, mib, MIB, percent, seconds } from '../../core/units.js';
import type { Budgets } from './derive.js';
import { capStopFraction } from './duty.js';

export type Who = 'pod' | 'child' | 'agent';
export type Resource = 'cpu' | 'memory';
export type ActionKind = 'window' | 'flush' | 'restart' | 'throttle' | 'unthrottle' | 'duty_cycle' | 'shed' | 'unshed';

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
  /** The pod's cgroup working set; null without a readable memory controller. */
  pod: { workingSetBytes: number | null };
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

/** One decision's scratch: the new state and what it emits. */
class Step {
  readonly actions: Action[] = [];
  readonly transitions: Transition[] = [];
  /** The CPU machine that last changed its read-rate wish in this step, for the action's labels. */
  rateBy: 'child' | 'agent' | null = null;
  constructor(
    readonly state: PolicyState,
    readonly at: number,
  ) {}

  m(key: MachineKey): Machine {
    return this.state.machines[key];
  }

  go(key: MachineKey, to: Phase, reason: string): void {
    const m = this.m(key);
    if (m.phase === to) return;
    this.transitions.push({ key, from: m.phase, to, reason });
    this.state.machines[key] = { phase: to, since: this.at, reason, step: to === 'acting' ? m.step : 0, changedAt: m.changedAt };
  }

  act(key: MachineKey, a: Omit<Action, 'who' | 'resource'>, step?: number): void {
    const [who, resource] = key.split('.') as [Who, Resource];
    this.actions.push({ who, resource, ...a });
    const m = this.m(key);
    this.state.machines[key] = { ...m, changedAt: this.at, step: step ?? m.step };
  }

  /** A lever changed without an action of its own (the read rate is emitted by applyRate). */
  touch(key: MachineKey): void {
    this.state.machines[key] = { ...this.m(key), changedAt: this.at };
  }

  /** Time spent in the current phase. */
  dwelt(key: MachineKey): number {
    return this.at - this.m(key).since;
  }
}

export function decide(prev: PolicyState, sample: PolicySample, budgets: Budgets, params: PolicyParams): Decision {
  const state: PolicyState = { ...prev, machines: { ...prev.machines }, rateWanted: { ...prev.rateWanted } };
  const s = new Step(state, sample.at);
  const child = sample.child;

  // A new child (or none): its predecessor's episodes are over. A stopped share never outlives its process.
  if ((child?.pid ?? null) !== state.childPid) {
    if (state.dutyStop > 0) s.act('child.cpu', { action: 'duty_cycle', value: 0, detail: 'child changed' });
    const wasRestart = state.restarting || s.m('child.memory').phase === 'acting';
    Object.assign(state, { childPid: child?.pid ?? null, restarting: false, childMemPrev: null, dutyStop: 0 });
    state.rateWanted.child = null;
    for (const key of ['child.memory', 'child.cpu'] as const) {
      if (s.m(key).phase !== 'normal') s.go(key, key === 'child.memory' && wasRestart ? 'recovered' : 'normal', child ? 'child restarted' : 'child gone');
    }
    // A child restarted for the pod's sake: the pod ladder starts over from its first step.
    if (s.m('pod.memory').step > 1) s.state.machines['pod.memory'] = { ...s.m('pod.memory'), step: 1 };
  }

  podMemory(s, sample, budgets, params);
  if (child) childMemory(s, child, budgets, params);
  if (child) childCpu(s, child, budgets, params);
  agentMemory(s, sample.agent.memoryBytes, budgets, params);
  agentCpu(s, sample, budgets, params);
  applyRate(s, sample.readBytesPerSec);

  const podLimit = budgets.pod.memoryBytes;
  const ws = sample.pod.workingSetBytes;
  const near =
    (child !== null && child.memoryBytes >= budgets.child.memoryBytes * NEAR_BUDGET) ||
    (podLimit !== null && ws !== null && ws >= podLimit * POD.exit) ||
    s.m('child.memory').phase === 'pressure' ||
    s.m('child.memory').phase === 'acting';
  return { state, actions: s.actions, transitions: s.transitions, nextIntervalMs: near ? fastIntervalMs(params) : params.sampleIntervalMs };
}

function podMemory(s: Step, sample: PolicySample, budgets: Budgets, params: PolicyParams): void {
  const key = 'pod.memory';
  const limit = budgets.pod.memoryBytes;
  const ws = sample.pod.workingSetBytes;
  if (limit === null || ws === null) return;
  const level = ws / limit;
  const m = s.m(key);
  const what = `working set ${mib(ws)} = ${percent(level)} of ${mib(limit)}`;
  const releaseWindow = () => {
    if (s.state.window !== null) {
      s.state.window = null;
      s.act(key, { action: 'window', value: null, detail: `${what}: chunks in flight back to the maximum` });
    }
  };
  const escalate = () => {
    const mm = s.m(key);
    if (mm.step < 1) {
      s.state.window = POD_WINDOW;
      s.act(key, { action: 'window', value: POD_WINDOW, detail: `${what}: ${POD_WINDOW} chunks in flight` }, 1);
    }
    if (level >= POD.flush && s.m(key).step < 2 && sample.child) {
      s.act(key, { action: 'flush', detail: `${what}: child asked to flush` }, 2);
    }
    if (level >= params.memoryHardShare && s.m(key).step < 3 && sample.child && !s.state.restarting) {
      s.state.restarting = true;
      s.act(key, { action: 'restart', detail: `${what}, at or over memory_hard_share ${params.memoryHardShare}: child restarted before the OOM killer` }, 3);
    }
  };
  switch (m.phase) {
    case 'normal':
      if (level >= POD.pressure) s.go(key, 'pressure', what);
      // A jump straight past the flush share does not wait for a second sample.
      if (level >= POD.flush) {
        s.go(key, 'acting', what);
        escalate();
      }
      return;
    case 'pressure':
      if (level < POD.exit) s.go(key, 'normal', what);
      else if (level >= POD.pressure) {
        s.go(key, 'acting', what);
        escalate();
      }
      return;
    case 'acting':
      escalate();
      if (level < POD.exit && s.dwelt(key) >= dwellMs(params)) {
        s.go(key, 'recovered', what);
        releaseWindow();
      }
      return;
    case 'recovered':
      if (level >= POD.pressure) {
        s.go(key, 'acting', what);
        escalate();
      } else if (s.dwelt(key) >= dwellMs(params)) s.go(key, 'normal', what);
      return;
  }
}

function childMemory(s: Step, child: NonNullable<PolicySample['child']>, budgets: Budgets, params: PolicyParams): void {
  const key = 'child.memory';
  const budget = budgets.child.memoryBytes;
  const hard = budgets.childHardMemoryBytes;
  const used = child.memoryBytes;
  const prevSample = s.state.childMemPrev;
  const growth = prevSample && s.at > prevSample.at ? ((used - prevSample.bytes) * 1000) / (s.at - prevSample.at) : 0;
  s.state.childMemPrev = { at: s.at, bytes: used, growth };
  // A leak grows over two intervals in a row; one step (a buffer allocated once) is not a trend.
  const trend = Math.min(growth, prevSample?.growth ?? 0);
  const what = `${mib(used)} of budget ${mib(budget)}${growth > MIB ? `, growing ${mib(growth)}/s` : ''}`;
  const m = s.m(key);

  if (used <= budget) {
    // Between the exit share and the budget a phase holds (hysteresis).
    const below = used <= budget * EXIT_SHARE;
    if (m.phase === 'pressure' && below) s.go(key, 'normal', what);
    else if (m.phase === 'acting' && below && !s.state.restarting) s.go(key, 'recovered', what);
    else if (m.phase === 'recovered' && s.dwelt(key) >= dwellMs(params)) s.go(key, 'normal', what);
    return;
  }
  if (m.phase === 'normal' || m.phase === 'recovered') s.go(key, 'pressure', `${what}: over budget`);
  if (s.state.restarting) return;
  const overMs = s.at - s.m(key).since;
  // Growth that would reach the hard ceiling before the sustain is over and a restart has landed
  // makes the ladder start now: a leak of 20 MiB/s crosses 50 MiB in 2.5 s.
  const sustainLeft = Math.max(0, params.memorySustainMs - overMs);
  const racing = trend > 0 && ((hard - used) * 1000) / trend <= sustainLeft + RESTART_LEAD_MS;
  const due = overMs >= params.memorySustainMs || racing;

  if (used >= hard) {
    s.go(key, 'acting', `${mib(used)} at or over the hard ceiling ${mib(hard)}`);
    s.state.restarting = true;
    s.act(key, { action: 'restart', detail: `${mib(used)} at or over the hard ceiling ${mib(hard)}` }, 2);
    return;
  }
  const mm = s.m(key);
  if (mm.phase === 'pressure' && due) {
    s.go(key, 'acting', `${what}: over budget for ${seconds(overMs)}${racing ? ', would reach the hard ceiling first' : ''}`);
    s.act(key, { action: 'flush', detail: `${what}` }, 1);
  } else if (mm.phase === 'acting' && mm.step === 1 && s.at - mm.changedAt >= fastIntervalMs(params) && due) {
    s.state.restarting = true;
    s.act(key, { action: 'restart', detail: `${what}: still over budget after the flush` }, 2);
  }
}

/** Which lever a CPU machine may pull, or why none. */
function cpuLever(who: 'child' | 'agent', budgets: Budgets, params: PolicyParams): { lever: 'throttle' | 'duty_cycle' } | { none: string } {
  if (params.cpuAction === 'none') return { none: 'cpu_action none' };
  if (who === 'child') {
    if (params.mode === 'kernel') return { none: "held by the child's cpu.max" };
    if (params.cpuAction === 'duty_cycle') return { lever: 'duty_cycle' };
  }
  if (!budgets[who].cpuEnforced) return { none: budgets.pod.cpuMillicores !== null ? 'the pod is held by its cpu quota; budget not set below it' : 'budget not set' };
  return { lever: 'throttle' };
}

function childCpu(s: Step, child: NonNullable<PolicySample['child']>, budgets: Budgets, params: PolicyParams): void {
  const budget = budgets.child.cpuMillicores;
  if (budget === null || child.cpuMillicores === null) return;
  const lever = cpuLever('child', budgets, params);
  if ('lever' in lever && lever.lever === 'duty_cycle') {
    dutyMachine(s, child, budget, params);
    return;
  }
  cpuThrottleMachine(s, 'child', child.cpuMillicores, budget, lever, params);
}

function agentCpu(s: Step, sample: PolicySample, budgets: Budgets, params: PolicyParams): void {
  const budget = budgets.agent.cpuMillicores;
  if (budget === null || sample.agent.cpuMillicores === null) return;
  cpuThrottleMachine(s, 'agent', sample.agent.cpuMillicores, budget, cpuLever('agent', budgets, params), params);
}

/** CPU over a budget, answered (where allowed) by a read-rate factor; the rate itself is applied in applyRate. */
function cpuThrottleMachine(s: Step, who: 'child' | 'agent', used: number, budget: number, lever: ReturnType<typeof cpuLever>, params: PolicyParams): void {
  const key: MachineKey = `${who}.cpu`;
  const m = s.m(key);
  const over = used > budget;
  const under = used <= budget * EXIT_SHARE;
  const what = `${used}m of budget ${budget}m`;
  const factor = Math.min(RATE.maxFactor, Math.max(RATE.minFactor, budget / Math.max(1, used)));
  const lower = () => {
    s.state.rateWanted[who] = -factor; // negative: a factor of the current rate, resolved in applyRate
    s.rateBy = who;
    s.touch(key);
  };
  switch (m.phase) {
    case 'normal': {
      if (!over) {
        s.state.machines[key] = { ...m, overSince: null };
        return;
      }
      if ('lever' in lever) {
        s.go(key, 'pressure', what);
        return;
      }
      // Without a lever, pressure is only reported for use sustained over cpu_sustain_s: the
      // periodic rescans of an idle warden are brief spikes over a share, not a state worth a line.
      const since = m.overSince ?? s.at;
      if (s.at - since >= params.cpuSustainMs) s.go(key, 'pressure', `${what} for ${seconds(s.at - since)} (no action: ${lever.none})`);
      else s.state.machines[key] = { ...m, overSince: since };
      return;
    }
    case 'pressure':
      if (under) s.go(key, 'normal', what);
      else if (over && 'lever' in lever && s.dwelt(key) >= params.cpuSustainMs) {
        s.go(key, 'acting', `${what} for ${seconds(s.dwelt(key))}`);
        lower();
      }
      return;
    case 'acting':
      if (under && s.dwelt(key) >= dwellMs(params)) {
        s.go(key, 'recovered', what);
        s.state.rateWanted[who] = null;
        s.rateBy = who;
      } else if (over && s.at - m.changedAt >= dwellMs(params)) lower();
      return;
    case 'recovered':
      if (over) s.go(key, 'pressure', what);
      else if (s.dwelt(key) >= dwellMs(params)) s.go(key, 'normal', what);
      return;
  }
}

function dutyMachine(s: Step, child: NonNullable<PolicySample['child']>, budget: number, params: PolicyParams): void {
  const key = 'child.cpu';
  const m = s.m(key);
  const used = child.cpuMillicores!;
  const last = child.cpuMillicoresLast ?? used;
  // What the child would use unstopped: measured usage scaled up by the share it was allowed to run.
  const demand = last / (1 - s.state.dutyStop);
  const what = `${used}m of budget ${budget}m`;
  const target = demand > 0 ? capStopFraction(1 - budget / demand) : 0;
  switch (m.phase) {
    case 'normal':
      if (used > budget) s.go(key, 'pressure', what);
      return;
    case 'recovered':
      if (used > budget) s.go(key, 'pressure', what);
      else if (s.dwelt(key) >= dwellMs(params)) s.go(key, 'normal', what);
      return;
    case 'pressure':
      if (used <= budget * EXIT_SHARE) s.go(key, 'normal', what);
      else if (used > budget && s.dwelt(key) >= params.cpuSustainMs && target >= DUTY.minStop) {
        s.go(key, 'acting', `${what} for ${seconds(s.dwelt(key))}`);
        s.state.dutyStop = round3(target);
        s.act(key, { action: 'duty_cycle', value: s.state.dutyStop, detail: `${what}: stopped ${Math.round(target * 100)}% of each 100ms` });
      }
      return;
    case 'acting': {
      if (demand <= budget * EXIT_SHARE && s.dwelt(key) >= dwellMs(params)) {
        s.go(key, 'recovered', `demand ${Math.round(demand)}m within budget ${budget}m`);
        s.state.dutyStop = 0;
        s.act(key, { action: 'duty_cycle', value: 0, detail: `demand ${Math.round(demand)}m within budget ${budget}m: duty cycle ended` });
        return;
      }
      if (s.at - m.changedAt < dwellMs(params)) return;
      const next = s.state.dutyStop + DUTY.gain * (target - s.state.dutyStop);
      const clamped = round3(Math.max(DUTY.minStop, capStopFraction(next)));
      if (Math.abs(clamped - s.state.dutyStop) >= 0.01) {
        s.state.dutyStop = clamped;
        s.act(key, { action: 'duty_cycle', value: clamped, detail: `last ${last}m, demand ${Math.round(demand)}m` });
      }
      return;
    }
  }
}

function agentMemory(s: Step, used: number, budgets: Budgets, params: PolicyParams): void {
  const key = 'agent.memory';
  const budget = budgets.agent.memoryBytes;
  const level = used / budget;
  const what = `${mib(used)} = ${percent(level)} of budget ${mib(budget)}`;
  const m = s.m(key);
  const shed = () => {
    s.go(key, 'acting', what);
    s.state.shedding = true;
    s.act(key, { action: 'shed', detail: `${what}: smaller batches, idle files closed` });
  };
  switch (m.phase) {
    case 'normal':
      if (level >= SHED.on) shed();
      else if (level >= SHED.pressure) s.go(key, 'pressure', what);
      return;
    case 'pressure':
      if (level >= SHED.on) shed();
      else if (level < SHED.exit) s.go(key, 'normal', what);
      return;
    case 'acting':
      // Shedding lasts at least a dwell: it is cheap, and flapping it costs more than it saves.
      if (level < SHED.off && s.dwelt(key) >= dwellMs(params)) {
        s.go(key, 'recovered', what);
        s.state.shedding = false;
        s.act(key, { action: 'unshed', detail: what });
      }
      return;
    case 'recovered':
      if (level >= SHED.on) shed();
      else if (s.dwelt(key) >= dwellMs(params)) s.go(key, level >= SHED.pressure ? 'pressure' : 'normal', what);
      return;
  }
}

/** Turns the CPU machines' wishes into one read rate for the tail; an action only when it changes. */
function applyRate(s: Step, readBytesPerSec: number | null): void {
  const st = s.state;
  const current = st.rateLimit ?? (readBytesPerSec && readBytesPerSec > 0 ? Math.min(readBytesPerSec, RATE.ceilingBytesPerSec) : RATE.ceilingBytesPerSec);
  const resolve = (w: number | null) => (w === null ? null : w < 0 ? Math.max(RATE.floorBytesPerSec, Math.round(current * -w)) : w);
  st.rateWanted = { child: resolve(st.rateWanted.child), agent: resolve(st.rateWanted.agent) };
  const wanted = [st.rateWanted.child, st.rateWanted.agent].filter((r): r is number => r !== null);
  const next = wanted.length ? Math.min(...wanted) : null;
  if (next === st.rateLimit) return;
  st.rateLimit = next;
  const who = s.rateBy ?? (st.rateWanted.child === next ? 'child' : 'agent');
  const why = s.m(`${who}.cpu`).reason;
  s.actions.push(
    next === null
      ? { who, resource: 'cpu', action: 'unthrottle', value: null, detail: `${why}: read rate limit lifted` }
      : { who, resource: 'cpu', action: 'throttle', value: next, detail: `${why}: read rate ${kibPerSec(next)}` },
  );
}

/** The governor calls this when a restart it asked for has settled (done or failed). */
export function restartSettled(state: PolicyState): PolicyState {
  return { ...state, restarting: false };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
