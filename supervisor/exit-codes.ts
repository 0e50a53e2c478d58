// warden's exit codes, like a shell's (tini): 128+N when stopped by signal N.
import { constants } from 'node:os';

export const EXIT = {
  OK: 0,
  /** Bad configuration or usage. */
  USAGE: 2,
  // No code for "child given up": warden never gives up on its child; a crash loop is `degraded`
  // and retried at child.restart.backoff_max_ms, reported by /readyz and warden_child_degraded.
} as const;

export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
