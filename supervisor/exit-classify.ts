// Why the child's run ended, from what the kernel told us. Pure: the caller reads the cgroup's
// OOM-kill counters before the spawn and after the exit and passes both in.
import type { ExitInfo } from '../core/contracts.js';


/** The child's own configuration was rejected: fluentd and `warden sink` exit 2 for that. */
export const CONFIG_ERROR_EXIT_CODE = 2;

export interface ExitFacts {
  code: number | null;
  signal: string | null;
  /** The spawn itself failed (no process ran); its errno code, e.g. `ENOENT`, `EACCES`. */
  spawnError?: string | null;
  /** `oom_kill` counter of the child's memory cgroup before the spawn and after the exit; null when unreadable. */
  oomKillsBefore?: number | null;
  oomKillsAfter?: number | null;
}

export type ExitClass = Pick<ExitInfo, 'kind' | 'reason' | 'code' | 'signal'>;

/**
 * - spawn error → `start_failed(CODE)`
 * - SIGKILL while the cgroup's `oom_kill` count rose → `oom_killed`
 *   (a SIGKILL from someone else with no OOM in between stays `signaled(SIGKILL)`)
 * - any other signal → `signaled(SIGNAME)`
 * - exit 2 → `config_error`, else `exited(N)`
 * - neither a code nor a signal → `vanished`: a followed successor (not warden's child, so no
 *   exit status to be had) found gone; `oom_killed` if the cgroup's count rose meanwhile
 */
export function classifyExit(f: ExitFacts): ExitClass {
  const code = f.code ?? null;
  const signal = f.signal ?? null;
  if (f.spawnError) return { kind: 'start_failed', reason: `start_failed(${f.spawnError})`, code, signal };
  const rose = f.oomKillsBefore != null && f.oomKillsAfter != null && f.oomKillsAfter > f.oomKillsBefore;
  if (signal) {
    if (signal === 'SIGKILL' && rose) return { kind: 'oom_killed', reason: 'oom_killed', code, signal };
    return { kind: 'signaled', reason: `signaled(${signal})`, code, signal };
  }
  if (code === null) return rose ? { kind: 'oom_killed', reason: 'oom_killed', code, signal } : { kind: 'vanished', reason: 'vanished', code, signal };
  if (code === CONFIG_ERROR_EXIT_CODE) return { kind: 'config_error', reason: 'config_error', code, signal };
  return { kind: 'exited', reason: `exited(${code})`, code, signal };
}
