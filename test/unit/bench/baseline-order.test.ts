// The order of a before/after run's pods: which side goes first in each round. A drift of the
// machine over the run (a neighbour's load, a warming cache) must weigh on both sides alike.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../../scripts/bench/options.js';
import { podOrder } from '../../../scripts/bench/pod/compare.js';

/** Every slot of `rounds` rounds, in the order compareRows runs them: 'A' for before, 'B' for after. */
const slots = (rounds: number): string[] => podOrder(rounds).map((p) => (p.side === 'before' ? 'A' : 'B'));

describe('bench --baseline round order', () => {
  it('follows the Thue–Morse sequence: AB BA BA AB BA AB AB BA, each round both sides once', () => {
    expect(slots(2).join('')).toBe('ABBA');
    expect(slots(8).join('')).toBe('ABBABAABBAABABBA');
    expect(podOrder(3).map((p) => p.round)).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('over 2^k rounds gives both sides equal sums of their slots’ positions to the power 0…k', () => {
    for (const k of [1, 2, 3]) {
      const order = slots(2 ** k);
      for (let power = 0; power <= k; power++) {
        const sum = (side: string) => order.reduce((a, s, pos) => (s === side ? a + (pos + 1) ** power : a), 0);
        expect(sum('B'), `2^${k} rounds, power ${power}`).toBe(sum('A'));
      }
    }
  });

  it('gives the last slot to the change over the default 4 rounds, the first to the baseline', () => {
    const rounds = parseBenchArgs(['--baseline', '/tmp/w']).baseline!.rounds;
    expect(rounds).toBe(4);
    const order = slots(rounds);
    expect([order[0], order.at(-1)]).toEqual(['A', 'B']);
  });
});
