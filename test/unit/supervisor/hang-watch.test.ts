// The hang rule: a ready child with chunks pending past the limit and no ack within it, once it
// has been up for a full window itself.
import { describe, expect, it } from 'vitest';
import { isHung, type HangFacts } from '../../../supervisor/hang-watch.js';

const limitMs = 30_000;
const hung: HangFacts = { pendingMs: 31_000, sinceAckMs: 31_000, child: { state: 'ready', uptime_s: 31 }, limitMs };

describe('isHung', () => {
  it('is hung when pending, silence and uptime all exceed the window', () => {
    expect(isHung(hung)).toBe(true);
    expect(isHung({ ...hung, sinceAckMs: null })).toBe(true);
  });

  it.each<[string, Partial<HangFacts>]>([
    ['nothing is pending', { pendingMs: null }],
    ['the oldest chunk is within the window', { pendingMs: 29_000 }],
    ['an ack came within the window', { sinceAckMs: 5_000 }],
    ['this child has not been up for a full window', { child: { state: 'ready', uptime_s: 10 } }],
    ['the child is not ready', { child: { state: 'starting', uptime_s: 31 } }],
  ])('is not hung when %s', (_why, change) => {
    expect(isHung({ ...hung, ...change })).toBe(false);
  });
});
