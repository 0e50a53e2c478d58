// warden's own memory machine: anonymous RSS at SHED.on of its budget → shed (smaller batches,
// idle files closed), held for at least a dwell.
import { mib, percent } from '../../../core/units.js';
import type { Budgets } from '../derive.js';
import { dwellMs, SHED, type PolicyParams } from './model.js';
import type { Step } from './step.js';

export function agentMemory(s: Step, used: number, budgets: Budgets, params: PolicyParams): void {
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
