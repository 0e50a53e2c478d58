// The one exponential backoff formula of warden: the child's restarts, journalctl's restarts and
// the Forward client's reconnects draw their jitter below this ceiling.

export interface BackoffBounds {
  initialMs: number;
  maxMs: number;
}

/**
 * `min(maxMs, initialMs × 2^attempt)`, attempt 0 first. The exponent stops at 52, past any sane
 * maximum, so a long run of failures never reaches 2^1024 = Infinity (and 0 × Infinity = NaN).
 */
export function backoffCeilingMs(b: BackoffBounds, attempt: number): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 52));
}
