// The child's memory machine: over budget for memory_sustain_s (sooner when its growth would reach
// the hard ceiling first) → flush → still over at the next sample → restart; at or over the hard
// ceiling → restart at once.
import { mib, MIB, seconds } from '../../../core/units.js';
import type { Budgets } from '../derive.js';
import { dwellMs, EXIT_SHARE, fastIntervalMs, RESTART_LEAD_MS, type PolicyParams, type PolicySample } from './model.js';
import type { Step } from './step.js';

export function childMemory(s: Step, child: NonNullable<PolicySample['child']>, budgets: Budgets, params: PolicyParams): void {
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
