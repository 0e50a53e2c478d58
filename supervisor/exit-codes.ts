// warden's exit codes, like a shell's (tini): 128+N when stopped by signal N.
import { constants } from 'node:os';

export const EXIT = {
  OK: 0,
  /** Bad configuration or usage. */
  USAGE: 2,
  /** The child was given up on (it cannot be started at all, e.g. its config is rejected for good). */
  CHILD_GIVEN_UP: 3,
} as const;

export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
