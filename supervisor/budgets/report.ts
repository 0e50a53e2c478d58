// The governor's log: one line per state transition, naming the actions that came with it, and a
// line of its own for an action without a transition.
import type { Logger } from '../../core/log.js';
import type { Action, MachineKey, Transition } from './policy.js';

/**
 * Actions without a transition (a lever's adjustment after a dwell, a memory escalation) get
 * their own line: at warn for the memory escalations, at debug for adjustments.
 */
export function logDecision(logger: Logger, transitions: Transition[], actions: Action[]): void {
  const keyOf = (a: Action) => `${a.who}.${a.resource}` as MachineKey;
  const told = new Set<Action>();
  for (const [i, t] of transitions.entries()) {
    // A machine may pass two phases in one sample (normal → pressure → acting): its actions go with the last.
    const last = !transitions.slice(i + 1).some((u) => u.key === t.key);
    const mine = last ? actions.filter((a) => keyOf(a) === t.key && !told.has(a)) : [];
    for (const a of mine) told.add(a);
    const fields = { resource: t.key, from: t.from, to: t.to, reason: t.reason, actions: mine.map((a) => (a.value === undefined ? a.action : `${a.action}=${a.value}`)) };
    if (t.to === 'acting' || (t.to === 'pressure' && t.from === 'normal' && t.key.endsWith('memory'))) logger.warn(fields, 'budget state');
    else logger.info(fields, 'budget state');
  }
  for (const a of actions) {
    if (told.has(a)) continue;
    const fields = { who: a.who, resource: a.resource, action: a.action, value: a.value, detail: a.detail };
    if (a.action === 'flush' || a.action === 'restart' || a.action === 'window') logger.warn(fields, 'budget action');
    else logger.debug(fields, 'budget action');
  }
}
