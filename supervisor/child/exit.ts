// What a run's end was, as /status and the log say it, and what comes next: nothing, a start at
// once, or a start after the restart policy's backoff.
import type { ExitInfo } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import type { ExitClass } from '../exit-classify.js';
import { nextRestart, type RestartPolicyConfig, type RestartPolicyState } from '../../core/restart-policy.js';
import { leaderPid, type Run } from './run-state.js';

const LOGGED_LAST_LINES = 20;

/** The run's end: a restart we asked for is named by its reason, else by the exit's class. */
export function exitInfo(run: Run, cls: ExitClass, at: string, endedAt: number): ExitInfo {
  const ours = run.intent?.kind === 'restart' ? run.intent.reason : null;
  return {
    kind: ours ?? cls.kind,
    reason: ours ?? cls.reason,
    code: cls.code,
    signal: cls.signal,
    at,
    uptime_s: Math.max(0, (endedAt - run.startedAt) / 1000),
    last_lines: run.output.ring.lines(),
  };
}

/** One line per exit: info for a stop, warn for an exit we asked for or an ordinary one, else error. */
export function logExit(logger: Logger, child: string, run: Run, info: ExitInfo, cls: ExitClass, stopped: boolean): void {
  const ours = run.intent?.kind === 'restart';
  const fields = {
    child,
    // After a handover the process that ended is the followed successor; its group keeps the first pid.
    child_pid: leaderPid(run),
    ...(run.leader && run.leader.pid !== run.pid ? { pgid: run.pid } : {}),
    reason: info.reason,
    ...(ours ? { exit: cls.reason } : {}),
    code: info.code,
    signal: info.signal,
    uptime_s: Math.round(info.uptime_s * 1000) / 1000,
    last_lines: info.last_lines!.slice(-LOGGED_LAST_LINES),
  };
  if (stopped) logger.info(fields, 'child stopped');
  else if (ours || cls.kind === 'exited' || cls.kind === 'signaled') logger.warn(fields, 'child exited');
  else logger.error(fields, 'child exited');
}

export type NextStep =
  | { kind: 'stopped' }
  | { kind: 'start' }
  | { kind: 'backoff'; delayMs: number; policy: RestartPolicyState }
  /** child.restart.give_up_after fast failures in a row: no more starts. */
  | { kind: 'give_up'; policy: RestartPolicyState };

/** What follows a run's end, given whether the child is still wanted and the policy so far. */
export function nextStep(
  run: Run,
  info: ExitInfo,
  wanted: boolean,
  policy: RestartPolicyState,
  restart: RestartPolicyConfig,
  random: () => number,
): NextStep {
  const intent = run.intent;
  if (!wanted) return { kind: 'stopped' };
  if (intent?.kind === 'stop' || (intent?.kind === 'restart' && intent.immediate)) return { kind: 'start' };
  // A run that never became ready was not stable, however long it took to fail; nor was a hung
  // one, however long it was up (its stable timer may have forgiven earlier failures: undone).
  const hung = intent?.kind === 'restart' && intent.reason === 'hung';
  const uptime = run.ready && !hung ? info.uptime_s : 0;
  const decision = nextRestart(hung ? run.policyAtStart : policy, restart, uptime, random);
  if (decision.giveUp) return { kind: 'give_up', policy: decision.state };
  return { kind: 'backoff', delayMs: decision.delayMs, policy: decision.state };
}
