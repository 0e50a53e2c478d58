// The child's output lines that say its own output cannot deliver, and how long one holds.
import { describe, expect, it } from 'vitest';
import { BackpressureLines, backpressureHoldMs } from '../../../supervisor/backpressure.js';
import { FLUENTD_BACKPRESSURE_PATTERNS } from '../../../config/schema.js';
import { parseConfig } from '../../../config/load.js';

// fluentd 1.14.6's own lines, as it printed them with its output's destination down.
const FAILED_FLUSH = '2026-12-07 09:39:45 +0000 [warn]: failed to flush the buffer. retry_times=1 next_retry_time=2026-12-07 09:39:47 +0000 chunk="66207fff067ac445b2a271e32070c8e0" error_class=Errno::ECONNREFUSED error="Connection refused - connect(2) for \\"127.0.0.1\\" port 38057"';
const BLOCKED = '2026-12-07 09:39:44 +0000 [warn]: failed to write data into buffer by buffer overflow action=:block';

function clocked(patterns: readonly string[] = FLUENTD_BACKPRESSURE_PATTERNS) {
  const clock = { t: 1000 };
  return { clock, lines: new BackpressureLines(() => patterns, () => clock.t) };
}

describe('BackpressureLines', () => {
  it.each([FAILED_FLUSH, BLOCKED])('sees fluentd say its output cannot deliver: %s', (line) => {
    const { clock, lines } = clocked();
    lines.observe('2026-12-07 09:39:44 +0000 [info]: fluentd worker is now running worker=0');
    expect(lines.recent(60_000)).toBeNull();
    lines.observe(line);
    clock.t += 59_000;
    expect(lines.recent(60_000)).toEqual({ agoMs: 59_000, line });
    clock.t += 2000;
    expect(lines.recent(60_000)).toBeNull();
  });

  it('keeps the latest matching line, cut to 300 characters', () => {
    const { clock, lines } = clocked();
    lines.observe(BLOCKED);
    clock.t += 10_000;
    const long = `${FAILED_FLUSH} ${'x'.repeat(1000)}`;
    lines.observe(long);
    const seen = lines.recent(60_000)!;
    expect(seen.agoMs).toBe(0);
    expect(seen.line).toBe(`${long.slice(0, 300)}…`);
  });

  it('reads the patterns on each line: a reload that changes them applies to the next line', () => {
    let patterns = ['output stuck'];
    const clock = { t: 0 };
    const lines = new BackpressureLines(() => patterns, () => clock.t);
    lines.observe(FAILED_FLUSH);
    expect(lines.recent(1000)).toBeNull();
    lines.observe('my output stuck again');
    expect(lines.recent(1000)?.line).toBe('my output stuck again');
    patterns = [];
    clock.t += 10;
    lines.observe('my output stuck again');
    expect(lines.recent(5)).toBeNull();
  });

  it('forgets what the child before said once a new one starts', () => {
    const { lines } = clocked();
    lines.observe(FAILED_FLUSH);
    lines.forget();
    expect(lines.recent(60_000)).toBeNull();
    lines.observe(BLOCKED);
    expect(lines.recent(60_000)?.line).toBe(BLOCKED);
  });

  it('holds for 5 × child.hang_timeout_s: 5 minutes by default, longer than the shipped retry_max_interval (60 s)', () => {
    const c = parseConfig({}, 'test.yaml');
    expect(c.child.backpressure_patterns).toEqual(FLUENTD_BACKPRESSURE_PATTERNS);
    expect(backpressureHoldMs(c.child.hang_timeout_s)).toBe(300_000);
  });
});
