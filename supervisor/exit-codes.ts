// warden's exit codes, like a shell's (tini): 128+N when stopped by signal N.
import { constants } from 'node:os';

export const EXIT = {
  OK: 0,
  /** Bad configuration or usage. */
  USAGE: 2,
  /**
   * The child was given up: it failed `child.restart.give_up_after` times in a row. Without that
   * key warden never gives up; a crash loop is `degraded` and retried at backoff_max_ms.
   */
  CHILD_GAVE_UP: 3,
} as const;

export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
