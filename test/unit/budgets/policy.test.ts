import { describe, expect, it } from 'vitest';
import type { Budgets } from '../../../supervisor/budgets/derive.js';
import { DUTY, RATE, decide, initialPolicyState, restartSettled, type Action, type PolicyParams, type PolicySample, type PolicyState } from '../../../supervisor/budgets/policy.js';

const MIB = 1024 * 1024;
const budgets: Budgets = {
  child: { cpuMillicores: 200, memoryBytes: 100 * MIB },
  agent: { cpuMillicores: 50, memoryBytes: 48 * MIB },
  childHardMemoryBytes: 150 * MIB,
  how: 'test',
};
const params: PolicyParams = { memorySustainMs: 2000, cpuSustainMs: 3000, cpuAction: 'throttle', mode: 'watchdog', sampleIntervalMs: 1000 };

interface Step {
  at: number;
  mem?: number;
  cpu?: number | null;
  cpuLast?: number | null;
  pid?: number | null;
  agentMem?: number;
  agentCpu?: number | null;
  read?: number | null;
}

/** Runs samples through the policy; returns every step's actions and the final state. */
function run(steps: Step[], p: PolicyParams = params, start: PolicyState = initialPolicyState()) {
  let state = start;
  const out: { at: number; actions: Action[]; next: number; state: PolicyState }[] = [];
  for (const s of steps) {
    const pid = s.pid === undefined ? 100 : s.pid;
    const sample: PolicySample = {
      at: s.at,
      child: pid === null ? null : { pid, cpuMillicores: s.cpu === undefined ? 100 : s.cpu, cpuMillicoresLast: s.cpuLast === undefined ? (s.cpu ?? 100) : s.cpuLast, memoryBytes: s.mem ?? 50 * MIB },
      agent: { cpuMillicores: s.agentCpu === undefined ? 10 : s.agentCpu, memoryBytes: s.agentMem ?? 30 * MIB },
      readBytesPerSec: s.read ?? null,
    };
    const d = decide(state, sample, budgets, p);
    state = d.state;
    out.push({ at: s.at, actions: d.actions, next: d.nextIntervalMs, state });
  }
  return out;
}
const kinds = (r: ReturnType<typeof run>) => r.map((x) => x.actions.map((a) => a.action).join(','));

describe('child memory', () => {
  it('flushes after memory_sustain_s over budget, then restarts when still over at the next check', () => {
    const r = run([
      { at: 0, mem: 90 * MIB },
      { at: 1000, mem: 110 * MIB },
      { at: 2000, mem: 115 * MIB },
      { at: 3000, mem: 120 * MIB },
      { at: 3250, mem: 121 * MIB },
      { at: 3500, mem: 122 * MIB },
    ]);
    expect(kinds(r)).toEqual(['', '', '', 'flush', 'restart', '']);
    const restart = r[4].actions[0];
    expect(restart).toMatchObject({ who: 'child', resource: 'memory', action: 'restart', violation: true });
    expect(r[5].state.restarting).toBe(true);
  });

  it('a flush that brings memory back under budget ends the episode without a restart', () => {
    const r = run([
      { at: 0, mem: 110 * MIB },
      { at: 2000, mem: 110 * MIB },
      { at: 2250, mem: 80 * MIB },
      { at: 5000, mem: 110 * MIB },
      { at: 6000, mem: 110 * MIB },
    ]);
    expect(kinds(r)).toEqual(['', 'flush', '', '', '']);
    expect(r[4].state.memOverSince).toBe(5000);
    expect(r[4].state.flushedAt).toBeNull();
  });

  it('restarts at once at the hard ceiling, without waiting or flushing', () => {
    const r = run([{ at: 0, mem: 150 * MIB }]);
    expect(r[0].actions).toEqual([expect.objectContaining({ action: 'restart', violation: true, detail: expect.stringMatching(/hard ceiling/) })]);
  });

  it('asks for one restart only, until it settles or the child changes', () => {
    const r = run([
      { at: 0, mem: 160 * MIB },
      { at: 250, mem: 170 * MIB },
      { at: 500, mem: 40 * MIB, pid: 101 },
      { at: 750, mem: 160 * MIB, pid: 101 },
    ]);
    expect(kinds(r)).toEqual(['restart', '', '', 'restart']);
    expect(restartSettled(r[1].state).restarting).toBe(false);
  });

  it('samples faster near or over budget so a fast grower is caught between polls', () => {
    const r = run([{ at: 0, mem: 50 * MIB }, { at: 1000, mem: 85 * MIB }, { at: 1250, mem: 101 * MIB }]);
    expect(r.map((x) => x.next)).toEqual([1000, 250, 250]);
  });
});

describe('child cpu', () => {
  it('throttle: multiplicative decrease from the observed read rate while over, additive increase and then lifted when under', () => {
    const r = run([
      { at: 0, cpu: 400, read: 4 * MIB },
      { at: 1000, cpu: 400 },
      { at: 2000, cpu: 100 },
      { at: 3000, cpu: 100 },
    ]);
    expect(r[0].actions).toEqual([expect.objectContaining({ action: 'throttle', value: 2 * MIB, violation: true })]);
    expect(r[1].actions[0]).toMatchObject({ action: 'throttle', value: 1 * MIB });
    expect(r[2].actions[0]).toMatchObject({ action: 'unthrottle', value: 2 * MIB, violation: false });
    expect(r[3].actions[0]).toMatchObject({ action: 'unthrottle', value: 3 * MIB });
    const lifted = run([{ at: 0, cpu: 100 }], params, { ...initialPolicyState(), childPid: 100, rateLimit: RATE.ceilingBytesPerSec - 1 });
    expect(lifted[0].actions[0]).toMatchObject({ action: 'unthrottle', value: null });
  });

  it('throttle never goes below the floor and never duty-cycles', () => {
    const steps = Array.from({ length: 30 }, (_, i) => ({ at: i * 1000, cpu: 1000 }));
    const r = run(steps);
    expect(r.at(-1)!.state.rateLimit).toBe(RATE.floorBytesPerSec);
    expect(r.flatMap((x) => x.actions).some((a) => a.action === 'duty_cycle')).toBe(false);
  });

  it('duty_cycle: starts only after cpu_sustain_s, at 1 − budget/usage, and converges on the budget', () => {
    const p = { ...params, cpuAction: 'duty_cycle' as const };
    const r = run(
      [
        { at: 0, cpu: 1000 },
        { at: 1000, cpu: 1000 },
        { at: 2000, cpu: 1000 },
        { at: 3000, cpu: 1000 },
      ],
      p,
    );
    expect(r.slice(0, 3).every((x) => x.state.dutyStop === 0)).toBe(true);
    const start = r[3].actions.find((a) => a.action === 'duty_cycle')!;
    expect(start).toMatchObject({ violation: true, value: 0.8 });
    // A child that, stopped 80%, uses 250m (demand 1250m): the stopped share moves toward 0.84.
    const next = run([{ at: 4000, cpu: 250, cpuLast: 250 }], p, r[3].state);
    expect(next[0].state.dutyStop).toBeCloseTo(0.8 + DUTY.gain * (1 - 200 / 1250 - 0.8), 6);
    expect(next[0].actions.find((a) => a.action === 'duty_cycle')?.violation).toBe(false);
  });

  it('duty_cycle: never stops more than the maximum share, and ends when demand falls under budget', () => {
    const p = { ...params, cpuAction: 'duty_cycle' as const, cpuSustainMs: 0 };
    const r = run([{ at: 0, cpu: 100_000 }], p);
    expect(r[0].state.dutyStop).toBe(DUTY.maxStop);
    let state = r[0].state;
    let ended: Action | undefined;
    for (let i = 1; i < 20 && !ended; i++) {
      const d = run([{ at: i * 1000, cpu: 5, cpuLast: 5 }], p, state);
      state = d[0].state;
      ended = d[0].actions.find((a) => a.action === 'duty_cycle' && a.value === 0);
    }
    expect(ended).toBeDefined();
    expect(state.dutyStop).toBe(0);
  });

  it('a new child pid ends the duty cycle (a stopped share never outlives its process)', () => {
    const p = { ...params, cpuAction: 'duty_cycle' as const, cpuSustainMs: 0 };
    const r = run([{ at: 0, cpu: 1000 }, { at: 1000, cpu: null, pid: 200 }], p);
    expect(r[0].state.dutyStop).toBeGreaterThan(0);
    expect(r[1].actions[0]).toMatchObject({ action: 'duty_cycle', value: 0 });
    expect(r[1].state.dutyStop).toBe(0);
  });

  it('cpu_action none: one report per episode after cpu_sustain_s, no throttle', () => {
    const p = { ...params, cpuAction: 'none' as const };
    const r = run([0, 1000, 2000, 3000, 4000, 5000].map((at) => ({ at, cpu: 900 })).concat([{ at: 6000, cpu: 100 }, { at: 7000, cpu: 900 }, { at: 10_000, cpu: 900 }]), p);
    expect(kinds(r)).toEqual(['', '', '', 'report', '', '', '', '', 'report']);
  });

  it('kernel mode: cpu.max holds the child, so no duty cycle even when configured', () => {
    const p = { ...params, cpuAction: 'duty_cycle' as const, mode: 'kernel' as const, cpuSustainMs: 0 };
    const r = run([{ at: 0, cpu: 1000 }, { at: 1000, cpu: 1000 }], p);
    expect(r.flatMap((x) => x.actions).map((a) => a.action)).toEqual(['report', 'throttle', 'throttle']);
    expect(r[1].state.dutyStop).toBe(0);
  });
});

describe('agent', () => {
  it('sheds before its memory budget and stops shedding well under it (hysteresis)', () => {
    const r = run([
      { at: 0, agentMem: 40 * MIB },
      { at: 1000, agentMem: 44 * MIB },
      { at: 2000, agentMem: 40 * MIB },
      { at: 3000, agentMem: 38 * MIB },
    ]);
    expect(kinds(r)).toEqual(['', 'shed', '', 'unshed']);
    expect(r[1].actions[0]).toMatchObject({ who: 'agent', resource: 'memory', violation: true });
  });

  it('its own CPU over budget lowers the read rate', () => {
    const r = run([{ at: 0, agentCpu: 100 }]);
    expect(r[0].actions[0]).toMatchObject({ who: 'agent', resource: 'cpu', action: 'throttle' });
  });
});
