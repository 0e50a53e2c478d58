// The label values of each labelled counter, one list per label: the metrics registry exports every
// one of them at 0 from the start (an alert on a loss can be written before the first loss), and
// the parts that count take their types from these lists, so a value cannot be counted that is not
// listed here.
import { EXIT_KINDS } from '../../core/contracts.js';

/** `warden_bytes_lost_total{reason}`: why bytes were given up. */
export const LOST_REASONS = [
  // a rotated file not drained within tail.rotated_keep_s / beyond tail.rotated_max_files
  'rotated_keep_s',
  'rotated_max_files',
  // a deleted file not drained by the time warden stopped: its bytes are gone at the next start
  'deleted_at_stop',
  // a file deleted before it was read to its end
  'deleted_unread',
  // a rotated file replaced or unopenable while it waited for a descriptor
  'replaced',
  'open_failed',
  // NUL runs (preallocated or corrupt regions) skipped; a line not even encodable raw
  'nul',
  'encode',
  // journald: an entry over tail.max_line_bytes; a journalctl line that is not an entry
  'journal_record_too_big',
  'journal_bad_entry',
  // a record the Forward receiver refused forward.reject_limit connections in a row
  'rejected',
] as const;
export type LostReason = (typeof LOST_REASONS)[number];

/** `warden_tail_refused_total{reason}`: paths never opened. */
export const REFUSE_REASONS = ['outside_roots', 'not_regular', 'symlink_loop'] as const;
export type RefuseReason = (typeof REFUSE_REASONS)[number];

/** `warden_tail_rotations_total{kind}`. */
export const ROTATION_KINDS = ['rename', 'deleted', 'docker', 'kubelet', 'copytruncate', 'recovered'] as const;
export type RotationKind = (typeof ROTATION_KINDS)[number];

/** `warden_checkpoint_writes_total{result}`. */
export const CHECKPOINT_RESULTS = ['ok', 'error'] as const;

/** `warden_child_restarts_total{reason}`: the kind of the exit that caused the restart. */
export const RESTART_REASONS = EXIT_KINDS;

/** `warden_config_reloads_total{result,trigger}`. */
export const RELOAD_RESULTS = ['applied', 'refused', 'unchanged'] as const;
export type ReloadResult = (typeof RELOAD_RESULTS)[number];
export const RELOAD_TRIGGERS = ['signal', 'watch'] as const;
export type ReloadTrigger = (typeof RELOAD_TRIGGERS)[number];

/**
 * `warden_budget_violations_total{who,resource,action}`: the actions each budget machine takes
 * (`who.resource`), the only combinations the counter can have. The CPU machines' read-rate
 * throttle is one action for both (applyRate), the child's duty cycle the child's alone.
 */
export const BUDGET_ACTIONS = {
  'pod.memory': ['window', 'flush', 'restart'],
  'child.memory': ['flush', 'restart'],
  'child.cpu': ['throttle', 'unthrottle', 'duty_cycle'],
  'agent.memory': ['shed', 'unshed'],
  'agent.cpu': ['throttle', 'unthrottle'],
} as const;
export type BudgetMachine = keyof typeof BUDGET_ACTIONS;
export type BudgetAction = (typeof BUDGET_ACTIONS)[BudgetMachine][number];

/** A counter's label values: each label's values (every combination is a series), or the series themselves. */
export type KnownLabels = Readonly<Record<string, readonly string[]>> | ReadonlyArray<Readonly<Record<string, string>>>;

const BUDGET_SERIES = Object.entries(BUDGET_ACTIONS).flatMap(([machine, actions]) => {
  const [who, resource] = machine.split('.') as [string, string];
  return actions.map((action) => ({ who, resource, action }));
});

/** Every labelled counter of the registry (by its key in createMetrics) with its label values (KnownLabels). */
export const KNOWN_LABELS = {
  bytesLost: { reason: LOST_REASONS },
  refused: { reason: REFUSE_REASONS },
  rotations: { kind: ROTATION_KINDS },
  checkpointWrites: { result: CHECKPOINT_RESULTS },
  childRestarts: { reason: RESTART_REASONS },
  configReloads: { result: RELOAD_RESULTS, trigger: RELOAD_TRIGGERS },
  budgetViolations: BUDGET_SERIES,
} as const satisfies Record<string, KnownLabels>;

/** Every series of `known`: e.g. {result: [a, b], trigger: [x]} → [{a,x}, {b,x}]; a list of series as it is. */
export function knownSeries(known: KnownLabels): ReadonlyArray<Readonly<Record<string, string>>> {
  if (Array.isArray(known)) return known;
  return Object.entries(known as Readonly<Record<string, readonly string[]>>).reduce<Record<string, string>[]>(
    (acc, [k, vs]) => acc.flatMap((l) => vs.map((v) => ({ ...l, [k]: v }))),
    [{}],
  );
}
