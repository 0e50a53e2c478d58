// One decision's scratch: the new state under construction, and the actions and transitions it
// emits. Every machine changes the state only through it, so each transition is reported once.
import type { Action, Machine, MachineKey, Phase, PolicyState, Resource, Transition, Who } from './model.js';
import type { BUDGET_ACTIONS } from '../../../agent/health/labels.js';

/** One decision's scratch: the new state and what it emits. */
export class Step {
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

  /** An action of `key`'s machine; only the actions BUDGET_ACTIONS lists for it type-check. */
  act<K extends MachineKey>(key: K, a: Omit<Action, 'who' | 'resource' | 'action'> & { action: (typeof BUDGET_ACTIONS)[K][number] }, step?: number): void {
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
