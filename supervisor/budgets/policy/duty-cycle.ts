// The child's CPU under cpu_action duty_cycle: SIGSTOP/SIGCONT slices sized from what the child
// would use unstopped, adjusted at most once per dwell.
import { seconds } from '../../../core/units.js';
import { capStopFraction } from '../duty.js';
import { DUTY, dwellMs, EXIT_SHARE, type PolicyParams, type PolicySample } from './model.js';
import type { Step } from './step.js';

export function dutyMachine(s: Step, child: NonNullable<PolicySample['child']>, budget: number, params: PolicyParams): void {
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

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
