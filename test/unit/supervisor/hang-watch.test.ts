// The hang rule: a ready child connected with chunks unacked past the limit, once it has been up
// for a full window itself.
import { describe, expect, it } from 'vitest';
import { isHung, type HangFacts } from '../../../supervisor/hang-watch.js';

const limitMs = 30_000;
const hung: HangFacts = { stalledMs: 31_000, child: { state: 'ready', uptime_s: 31 }, limitMs, backpressure: null };

describe('isHung', () => {
  it('is hung when the connected time without an ack and the uptime both exceed the window', () => {
    expect(isHung(hung)).toBe(true);
  });

  it.each<[string, Partial<HangFacts>]>([
    ['it was connected with chunks unacked for less than the window', { stalledMs: 29_000 }],
    ['nothing was ever pending on a connection', { stalledMs: 0 }],
    ['this child has not been up for a full window', { child: { state: 'ready', uptime_s: 10 } }],
    ['the child is not ready', { child: { state: 'starting', uptime_s: 31 } }],
    ['the child said its output cannot deliver, recently enough to hold', { backpressure: { agoMs: 50_000, line: 'failed to flush the buffer. retry_times=3' } }],
  ])('is not hung when %s', (_why, change) => {
    expect(isHung({ ...hung, ...change })).toBe(false);
  });
});
