// A child that holds acks back because its own output cannot deliver is waiting, not hung. fluentd
// says so in its log: each failed flush of a chunk ("failed to flush the buffer. retry_times=…",
// warn) and the moment a full buffer with `overflow_action block` makes in_forward wait ("failed to
// write data into buffer by buffer overflow action=:block"). Restarting it would not bring its
// destination back: it would boot again under the pod's CPU limit, load the same full buffer and
// wait again. So a stall is a hang only when the child said nothing of the kind for a while.
// The patterns are `child.backpressure_patterns` (fluentd's lines by default, config/schema.ts).

/**
 * A line counts for this many `child.hang_timeout_s` (5 min by default). fluentd retries a failing
 * output at least every `retry_max_interval` (60 s in the shipped fluent.conf), each retry a line.
 */
export const BACKPRESSURE_HOLD_FACTOR = 5;

/** The line kept to show (in /status, the log, readiness) is cut to this many characters. */
const SHOWN_CHARS = 300;

export interface BackpressureSeen {
  /** How long ago the last matching line came. */
  agoMs: number;
  /** That line (redacted as the child's output is, cut to SHOWN_CHARS). */
  line: string;
}

/** The child's output lines, watched for patterns that say its output cannot deliver. */
export class BackpressureLines {
  private at: number | null = null;
  private line = '';

  constructor(
    /** Read on each line: a reload replaces the patterns. */
    private readonly patterns: () => readonly string[],
    private readonly now: () => number = () => performance.now(),
  ) {}

  observe(line: string): void {
    for (const p of this.patterns()) {
      if (!line.includes(p)) continue;
      this.at = this.now();
      this.line = line.length > SHOWN_CHARS ? `${line.slice(0, SHOWN_CHARS)}…` : line;
      return;
    }
  }

  /** A new child starts: what the one before said does not vouch for it. */
  forget(): void {
    this.at = null;
    this.line = '';
  }

  /** The last matching line, when it came within `holdMs`; else null. */
  recent(holdMs: number): BackpressureSeen | null {
    if (this.at === null) return null;
    const agoMs = this.now() - this.at;
    return agoMs <= holdMs ? { agoMs, line: this.line } : null;
  }
}

/** How long a matching line holds for this hang timeout (seconds). */
export function backpressureHoldMs(hangTimeoutS: number): number {
  return hangTimeoutS * 1000 * BACKPRESSURE_HOLD_FACTOR;
}
