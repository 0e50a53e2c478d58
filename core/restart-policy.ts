// When to start the child again after it ended: exponential backoff with full jitter, a reset
// after a stable run, a `degraded` crash-loop mode paced at the maximum delay, and, only when
// asked for, giving up after so many fast failures in a row. Pure: the
// caller passes uptime and the random source, and keeps the returned state.
import { backoffCeilingMs } from './backoff.js';

export interface RestartPolicyConfig {
  backoff_initial_ms: number;
  backoff_max_ms: number;
  /** A run at least this long counts as stable: the attempt counter and `degraded` reset. */
  stable_after_s: number;
  /** This many consecutive fast failures (runs shorter than `stable_after_s`) → degraded. */
  degraded_after: number;
  /** This many consecutive fast failures → no more restarts (`giveUp`); null or absent: never. */
  give_up_after?: number | null;
}

export interface RestartPolicyState {
  /** Consecutive fast failures so far; the exponent of the backoff. */
  attempt: number;
  degraded: boolean;
}

export const INITIAL_POLICY_STATE: RestartPolicyState = Object.freeze({ attempt: 0, degraded: false });

/** Never restart sooner than this, whatever the jitter drew: a crash loop must not be a hot loop. */
export const MIN_BACKOFF_MS = 10;

export interface RestartDecision {
  delayMs: number;
  state: RestartPolicyState;
  /** `give_up_after` fast failures in a row: do not start again. */
  giveUp: boolean;
}

/**
 * The delay before the next start, given how long the run that just ended lasted.
 *
 *   if uptime_s >= stable_after_s:  attempt = 0, degraded = false        (a stable run forgives)
 *   ceiling = min(backoff_max_ms, backoff_initial_ms * 2^attempt)          (core/backoff.ts)
 *   floor   = min(backoff_max_ms, max(MIN_BACKOFF_MS, min(backoff_initial_ms, 100)))
 *   delay   = max(floor, random() * ceiling)                              (full jitter, floored)
 *   attempt = attempt + 1;  degraded = attempt >= degraded_after
 *   if degraded: delay = backoff_max_ms                                   (at most one start per max)
 *   giveUp  = give_up_after is set and attempt >= give_up_after
 *
 * `random` returns [0, 1). A run that never became ready should be passed with uptime 0: it was
 * not stable however long it took to fail.
 */
export function nextRestart(
  state: RestartPolicyState,
  cfg: RestartPolicyConfig,
  uptimeS: number,
  random: () => number,
): RestartDecision {
  let attempt = state.attempt;
  if (uptimeS >= cfg.stable_after_s) attempt = 0;
  const ceiling = backoffCeilingMs({ initialMs: cfg.backoff_initial_ms, maxMs: cfg.backoff_max_ms }, attempt);
  const floor = Math.min(cfg.backoff_max_ms, Math.max(MIN_BACKOFF_MS, Math.min(cfg.backoff_initial_ms, 100)));
  let delayMs = Math.max(floor, Math.floor(clamp01(random()) * ceiling));
  attempt += 1;
  const degraded = attempt >= cfg.degraded_after;
  if (degraded) delayMs = cfg.backoff_max_ms;
  const giveUp = cfg.give_up_after != null && attempt >= cfg.give_up_after;
  return { delayMs, state: { attempt, degraded }, giveUp };
}

/** After a stable run the child is no longer in a crash loop, even before it exits again. */
export function markStable(state: RestartPolicyState, cfg: RestartPolicyConfig, uptimeS: number): RestartPolicyState {
  return uptimeS >= cfg.stable_after_s && (state.attempt !== 0 || state.degraded) ? { attempt: 0, degraded: false } : state;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(Math.max(x, 0), 1) : 0;
}
