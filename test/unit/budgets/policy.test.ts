// The budget policy over sample series, in one table of scenarios: each series is a function of
// time, sampled at the intervals the policy itself asks for (faster near a memory limit), and each
// scenario names the actions it must produce, in order. Budgets come from deriveBudgets, so the
// shipped defaults are what is tested.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../config/schema.js';
import { deriveBudgets } from '../../../supervisor/budgets/derive.js';
import {
  MACHINES,
  decide,
  dwellMs,
  initialPolicyState,
  restartSettled,
  type Action,
  type MachineKey,
  type Phase,
  type PolicyParams,
  type PolicyState,
  type Transition,
} from '../../../supervisor/budgets/policy.js';

const MIB = 1024 * 1024;

interface At {
  /** Seconds since the start. */
  t: number;
  /** Seconds since the current child started (restarts reset it). */
  childT: number;
  /** Restarts so far: 0 for the first child. */
  restarts: number;
  /** The stopped share the policy holds the child to (a duty-cycled child uses that much less). */
  dutyStop: number;
}
interface Series {
  /** Pod working set; omitted = the sum of the child and warden (anon). */
  pod?: (x: At) => number;
  /** Pod usage less clean file pages; omitted = the working set (no file pages). */
  podHeld?: (x: At) => number;
  childMem?: (x: At) => number;
  childCpu?: (x: At) => number;
  agentMem?: (x: At) => number;
  agentCpu?: (x: At) => number;
}

interface Scenario {
  name: string;
  /** budgets config (child/agent/cpu_action/...), as a user writes it. */
  config?: Record<string, unknown>;
  limits: { cpuMillicores: number | null; memoryBytes: number | null };
  mode?: 'kernel' | 'watchdog';
  seconds: number;
  series: Series;
  /** Every action, in order, as `who.resource:action`. */
  actions: string[];
  /** Extra checks over the run. */
  check?: (r: Run) => void;
}

interface Run {
  steps: { t: number; childMem: number; actions: Action[]; transitions: Transition[]; state: PolicyState }[];
  actions: string[];
  transitions: Transition[];
  final: PolicyState;
}

function simulate(sc: Scenario): Run {
  const config = configSchema.parse({ budgets: sc.config ?? {} }).budgets;
  const budgets = deriveBudgets(config, { version: 'v1', ...sc.limits });
  const params: PolicyParams = {
    memorySustainMs: config.memory_sustain_s * 1000,
    cpuSustainMs: config.cpu_sustain_s * 1000,
    cpuAction: config.cpu_action,
    mode: sc.mode ?? 'watchdog',
    sampleIntervalMs: config.sample_interval_ms,
    memoryHardShare: config.memory_hard_share,
  };
  let state = initialPolicyState(0);
  let atMs = 0;
  let pid = 100;
  let childStart = 0;
  let restartAt: number | null = null;
  const s = sc.series;
  const run: Run = { steps: [], actions: [], transitions: [], final: state };
  while (atMs <= sc.seconds * 1000) {
    // A restart asked for lands one sample later: a new pid whose series starts over.
    if (restartAt !== null) {
      pid += 1;
      childStart = atMs;
      restartAt = null;
      state = restartSettled(state);
    }
    const x: At = { t: atMs / 1000, childT: (atMs - childStart) / 1000, restarts: pid - 100, dutyStop: state.dutyStop };
    const childMem = s.childMem?.(x) ?? 40 * MIB;
    const agentMem = s.agentMem?.(x) ?? 50 * MIB;
    const ws = sc.limits.memoryBytes === null ? null : (s.pod?.(x) ?? childMem + agentMem);
    const d = decide(
      state,
      {
        at: atMs,
        pod: { workingSetBytes: ws, unreclaimableBytes: ws === null ? null : (s.podHeld?.(x) ?? ws) },
        child: { pid, cpuMillicores: s.childCpu?.(x) ?? 30, cpuMillicoresLast: s.childCpu?.(x) ?? 30, memoryBytes: childMem },
        agent: { cpuMillicores: s.agentCpu?.(x) ?? 10, memoryBytes: agentMem },
        readBytesPerSec: 8 * MIB,
      },
      budgets,
      params,
    );
    state = d.state;
    run.steps.push({ t: x.t, childMem, actions: d.actions, transitions: d.transitions, state });
    run.actions.push(...d.actions.map((a) => `${a.who}.${a.resource}:${a.action}`));
    run.transitions.push(...d.transitions);
    if (d.actions.some((a) => a.action === 'restart')) restartAt = atMs;
    atMs += d.nextIntervalMs;
  }
  run.final = state;
  return run;
}

const POD = { cpuMillicores: 200, memoryBytes: 200 * MIB };
const NO_LIMITS = { cpuMillicores: null, memoryBytes: null };
const ramp = (from: number, perSec: number, to = Infinity) => (x: At) => Math.min(to, from + perSec * x.t);
const phasesOf = (r: Run, key: MachineKey) => [r.final.machines[key].phase, ...r.transitions.filter((t) => t.key === key).map((t) => t.to)];

const scenarios: Scenario[] = [
  {
    name: 'boot spike: one second of the child at 400m inside the 200m pod costs nothing',
    limits: POD,
    seconds: 30,
    series: { childCpu: (x) => (x.t < 1.5 ? 400 : 40), agentCpu: (x) => (x.t < 1.5 ? 150 : 10) },
    actions: [],
  },
  {
    name: 'steady drain in the pod: warden 130m + child 70m fill the quota, and warden is not throttled',
    limits: POD,
    seconds: 40,
    series: { agentCpu: () => 130, childCpu: () => 70, agentMem: () => 70 * MIB, childMem: () => 60 * MIB },
    actions: [],
    check: (r) => expect(r.final.rateLimit).toBeNull(),
  },
  {
    name: 'steady drain without limits: warden at 900m keeps its full speed (no agent CPU budget by default)',
    limits: NO_LIMITS,
    seconds: 40,
    series: { agentCpu: () => 900, childCpu: () => 300 },
    actions: [],
  },
  {
    name: 'slow output: the pod fills as fluentd buffers; fewer chunks in flight, then a flush, before the limit',
    config: { child: { cpu_millicores: 150, memory_mib: 160 }, agent: { cpu_millicores: 200, memory_mib: 80 } },
    limits: POD,
    seconds: 60,
    // 110 MiB rising 3 MiB/s to 172 MiB (86%), held until the flush lands at 30 s, then back to 110.
    series: { pod: (x) => (x.t < 30 ? Math.min(172 * MIB, 110 * MIB + 3 * MIB * x.t) : 110 * MIB), childMem: () => 90 * MIB },
    actions: ['pod.memory:window', 'pod.memory:flush', 'pod.memory:window'],
    check: (r) => {
      const first = r.steps.find((s) => s.actions.some((a) => a.action === 'window'))!;
      expect(first.actions[0]!.value).toBe(2);
      expect(first.t).toBeGreaterThanOrEqual(13); // 75% of 200 MiB = 150 MiB at ~13.3 s
      expect(r.final.window).toBeNull();
      expect(phasesOf(r, 'pod.memory')).toEqual(['normal', 'pressure', 'acting', 'recovered', 'normal']);
    },
  },
  {
    name: 'pod about to be OOM-killed: the child is restarted at memory_hard_share, before the kernel would',
    config: { child: { cpu_millicores: 150, memory_mib: 180 }, agent: { cpu_millicores: 200, memory_mib: 80 } },
    limits: POD,
    seconds: 30,
    series: { childMem: (x) => (x.restarts ? 60 * MIB : Math.min(150 * MIB, 60 * MIB + 8 * MIB * x.childT)), agentMem: () => 40 * MIB },
    actions: ['pod.memory:window', 'pod.memory:flush', 'pod.memory:restart', 'pod.memory:window'],
    check: (r) => {
      const restart = r.steps.find((s) => s.actions.some((a) => a.action === 'restart'))!;
      expect(restart.childMem + 40 * MIB).toBeLessThan(0.95 * 200 * MIB);
    },
  },
  {
    name: 'a pod near its limit in clean file pages (a mapped executable, logs read twice): no action, the kernel drops them first',
    limits: POD,
    seconds: 30,
    // The working set at 95% of 200 MiB, of which 80 MiB are clean file pages the kernel drops before any OOM kill.
    series: { pod: () => 190 * MIB, podHeld: () => 110 * MIB, childMem: () => 60 * MIB, agentMem: () => 40 * MIB },
    actions: [],
    check: (r) => {
      expect(r.final.machines['pod.memory'].phase).toBe('normal');
      expect(r.final.window).toBeNull();
    },
  },
  {
    name: 'dirty pages count as held but never above the working set: a write burst alone does not act',
    limits: POD,
    seconds: 30,
    // 60 MiB of fluentd's buffer writes not yet written back: inactive (outside the working set) yet unreclaimable.
    series: { pod: () => 120 * MIB, podHeld: () => 180 * MIB, childMem: () => 60 * MIB, agentMem: () => 40 * MIB },
    actions: [],
  },
  {
    name: 'the same pod as its unreclaimable part grows: fewer chunks at 75%, a flush at 85%, the child restarted at memory_hard_share',
    limits: POD,
    seconds: 30,
    series: { pod: () => 190 * MIB, podHeld: (x) => (x.restarts ? 110 * MIB : Math.min(185 * MIB, 110 * MIB + 10 * MIB * x.t)), childMem: () => 60 * MIB, agentMem: () => 40 * MIB },
    // The new child starts back at 110 MiB held: after a dwell under 65%, the window is restored.
    actions: ['pod.memory:window', 'pod.memory:flush', 'pod.memory:restart', 'pod.memory:window'],
    check: (r) => {
      const restart = r.steps.find((s) => s.actions.some((a) => a.action === 'restart'))!;
      expect(restart.t).toBeGreaterThanOrEqual(7); // 90% of 200 MiB = 180 MiB held at 7 s
    },
  },
  {
    name: 'leaking child: 20 MiB/s under a 100 MiB budget is flushed and restarted well before 150 MiB',
    config: { child: { cpu_millicores: 1000, memory_mib: 100 } },
    limits: NO_LIMITS,
    seconds: 6,
    series: { childMem: (x) => 60 * MIB + 20 * MIB * x.childT },
    actions: ['child.memory:flush', 'child.memory:restart', 'child.memory:flush', 'child.memory:restart'],
    check: (r) => {
      for (const s of r.steps) if (s.actions.some((a) => a.action === 'restart')) expect(s.childMem).toBeLessThan(125 * MIB);
      // Sampled every 250 ms from 80% of the budget on, so the leak is seen between 1 s polls.
      const firstRestart = r.steps.findIndex((s) => s.actions.some((a) => a.action === 'restart'));
      const near = r.steps.slice(0, firstRestart + 1).filter((s) => s.childMem >= 80 * MIB);
      expect(near.length).toBeGreaterThan(1);
      for (let i = 1; i < near.length; i++) expect(near[i]!.t - near[i - 1]!.t).toBeCloseTo(0.25);
    },
  },
  {
    name: 'a child that settles over budget: flushed after memory_sustain_s, restarted when still over',
    config: { child: { cpu_millicores: 1000, memory_mib: 100 } },
    limits: NO_LIMITS,
    seconds: 10,
    series: { childMem: (x) => (x.restarts || x.childT < 1 ? 60 * MIB : 110 * MIB) },
    actions: ['child.memory:flush', 'child.memory:restart'],
    check: (r) => {
      const flush = r.steps.find((s) => s.actions.some((a) => a.action === 'flush'))!;
      expect(flush.t).toBeGreaterThanOrEqual(3); // over from 1 s, sustain 2 s
      expect(phasesOf(r, 'child.memory').slice(1)).toEqual(['pressure', 'acting', 'recovered', 'normal']);
    },
  },
  {
    name: 'runaway child CPU in the pod: the kernel holds the quota, warden takes no CPU action',
    limits: POD,
    seconds: 40,
    series: { childCpu: () => 190 },
    actions: [],
    check: (r) => {
      expect(r.final.machines['child.cpu'].phase).toBe('pressure');
      expect(r.final.machines['child.cpu'].reason).toMatch(/no action: the pod is held by its cpu quota/);
    },
  },
  {
    name: 'runaway child CPU with cpu_action duty_cycle: stopped slices after cpu_sustain_s, adjusted at most once per dwell',
    config: { cpu_action: 'duty_cycle', child: { cpu_millicores: 200, memory_mib: 200 } },
    limits: NO_LIMITS,
    seconds: 30,
    series: { childCpu: (x) => Math.round(1000 * (1 - x.dutyStop)) },
    actions: ['child.cpu:duty_cycle'],
    check: (r) => {
      const first = r.steps.find((s) => s.actions.length)!;
      expect(first.t).toBe(10); // cpu_sustain_s
      expect(first.actions[0]!.value).toBeCloseTo(0.8);
    },
  },
  {
    name: 'runaway child CPU under a budget set below the pod quota: warden reads slower, once per dwell, and lets go at once',
    config: { child: { cpu_millicores: 100, memory_mib: 150 } },
    limits: { cpuMillicores: 1000, memoryBytes: 400 * MIB },
    seconds: 60,
    series: { childCpu: (x) => (x.t < 25 ? 300 : 50) },
    actions: ['child.cpu:throttle', 'child.cpu:throttle', 'child.cpu:throttle', 'child.cpu:throttle', 'child.cpu:throttle', 'child.cpu:unthrottle'],
    check: (r) => {
      const times = r.steps.filter((s) => s.actions.some((a) => a.action === 'throttle')).map((s) => s.t);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(dwellMs({ sampleIntervalMs: 1000 }) / 1000);
      expect(r.final.rateLimit).toBeNull();
    },
  },
  {
    name: 'cpu_action none: no CPU action at all, whatever the budgets',
    config: { cpu_action: 'none', child: { cpu_millicores: 100, memory_mib: 150 }, agent: { cpu_millicores: 20, memory_mib: 100 } },
    limits: NO_LIMITS,
    seconds: 30,
    series: { childCpu: () => 800, agentCpu: () => 500 },
    actions: [],
  },
  {
    name: 'warden itself growing: it sheds at 90% of its part, and stops once back under 80% after a dwell',
    limits: NO_LIMITS,
    seconds: 40,
    series: { agentMem: (x) => (x.t < 15 ? 50 * MIB + 3 * MIB * x.t : 60 * MIB) },
    actions: ['agent.memory:shed', 'agent.memory:unshed'],
    check: (r) => {
      expect(phasesOf(r, 'agent.memory')).toEqual(['normal', 'pressure', 'acting', 'recovered', 'normal']);
      expect(r.final.shedding).toBe(false);
    },
  },
  {
    name: 'defaults idle: the binary with 1,000 quiet files (~55 MiB anonymous) is never over budget, in the seed pod or without limits',
    limits: POD,
    seconds: 60,
    series: { agentMem: () => 55 * MIB, agentCpu: () => 5, childMem: () => 75 * MIB, childCpu: () => 5 },
    actions: [],
    check: (r) => {
      for (const k of MACHINES) expect(r.final.machines[k].phase).toBe('normal');
      const free = simulate({ ...scenarioBase, limits: NO_LIMITS, series: { agentMem: () => 55 * MIB, childMem: () => 75 * MIB } });
      expect(free.actions).toEqual([]);
    },
  },
];
const scenarioBase: Scenario = { name: '', limits: NO_LIMITS, seconds: 60, series: {}, actions: [] };

describe('budget policy scenarios', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, sc) => {
    const r = simulate(sc);
    expect(r.actions).toEqual(sc.actions);
    sc.check?.(r);
    // One transition per change of phase, never a transition to the phase a machine is in.
    for (const t of r.transitions) expect(t.from).not.toBe(t.to);
    const phases: Phase[] = ['normal', 'pressure', 'acting', 'recovered'];
    for (const k of MACHINES) expect(phases).toContain(r.final.machines[k].phase);
  });
});
