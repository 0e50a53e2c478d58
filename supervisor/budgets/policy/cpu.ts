// The CPU machines of the child and of warden: a read-rate factor where a lever is allowed (a
// budget set explicitly below the container's), the duty cycle for the child where configured,
// and otherwise only a report of sustained use.
import { seconds } from '../../../core/units.js';
import type { Budgets } from '../derive.js';
import { dutyMachine } from './duty-cycle.js';
import { dwellMs, EXIT_SHARE, RATE, type MachineKey, type PolicyParams, type PolicySample } from './model.js';
import type { Step } from './step.js';

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

export function childCpu(s: Step, child: NonNullable<PolicySample['child']>, budgets: Budgets, params: PolicyParams): void {
  const budget = budgets.child.cpuMillicores;
  if (budget === null || child.cpuMillicores === null) return;
  const lever = cpuLever('child', budgets, params);
  if ('lever' in lever && lever.lever === 'duty_cycle') {
    dutyMachine(s, child, budget, params);
    return;
  }
  cpuThrottleMachine(s, 'child', child.cpuMillicores, budget, lever, params);
}

export function agentCpu(s: Step, sample: PolicySample, budgets: Budgets, params: PolicyParams): void {
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
