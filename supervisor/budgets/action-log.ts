// Every budget action counted: in warden_budget_violations_total, per `who.resource.action` for
// /status, and the last KEEP_ACTIONS of them as records.
import type { Metrics } from '../../agent/health/metrics.js';
import type { Action, MachineKey } from './policy.js';

export interface ActionRecord {
  /** The state machine the action belongs to, e.g. `pod.memory`. */
  resource_key: MachineKey;
  at: string;
  who: Action['who'];
  resource: Action['resource'];
  action: Action['action'];
  value?: number | null;
  detail: string;
}

export const KEEP_ACTIONS = 50;

export class ActionLog {
  /** Counts by `who.resource.action`. */
  readonly violations: Record<string, number> = {};
  /** The most recent actions, oldest first. */
  readonly records: ActionRecord[] = [];

  constructor(private readonly metrics: Metrics) {}

  record(a: Action): void {
    const record: ActionRecord = { at: new Date().toISOString(), resource_key: `${a.who}.${a.resource}` as MachineKey, who: a.who, resource: a.resource, action: a.action, detail: a.detail };
    if (a.value !== undefined) record.value = a.value;
    this.metrics.budgetViolations.inc({ who: a.who, resource: a.resource, action: a.action });
    const key = `${a.who}.${a.resource}.${a.action}`;
    this.violations[key] = (this.violations[key] ?? 0) + 1;
    this.records.push(record);
    if (this.records.length > KEEP_ACTIONS) this.records.shift();
  }

  /** Actions taken by one machine so far. */
  count(key: MachineKey): number {
    return Object.entries(this.violations).reduce((sum, [k, v]) => (k.startsWith(`${key}.`) ? sum + v : sum), 0);
  }
}
