import { describe, expect, it } from 'vitest';
import { parseCri } from '../../../agent/parse/cri.js';
import { cases, NOW } from '../../fixtures/parse/cases.js';
import { mutate, rng } from '../../fixtures/parse/random.js';

const criCases = cases.filter((c) => c.format === 'cri');

describe('parseCri fragments', () => {
  it('P is partial, F is not; later tags are kept', () => {
    expect(parseCri('2026-11-27T18:00:00.000000001Z stdout P abc', 0, 0)).toStrictEqual({
      sec: 1_795_802_400, nsec: 1, stream: 'stdout', content: 'abc', partial: true,
    });
    expect(parseCri('2026-11-27T18:00:00Z stderr F:x:yz c d', 0, 0)).toStrictEqual({
      sec: 1_795_802_400, nsec: 0, stream: 'stderr', content: 'c d', partial: false, tags: ['x', 'yz'],
    });
  });

  it('a parse error carries the raw line and the read time', () => {
    expect(parseCri('not a cri line', 7, 8)).toStrictEqual({ sec: 7, nsec: 8, stream: 'stdout', content: 'not a cri line', partial: false, parseError: true });
  });

  it('never throws on mutated lines; errors always keep the raw line', () => {
    const next = rng(3);
    const seeds = criCases.flatMap((c) => c.lines).filter((l) => l.length < 2000);
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const line = mutate(next, seeds[i % seeds.length]!);
      const f = parseCri(line, NOW.sec, NOW.nsec);
      if (f.parseError) expect(f.content).toBe(line);
      else {
        parsed++;
        expect(['stdout', 'stderr']).toContain(f.stream);
        expect(line.endsWith(f.content)).toBe(true);
      }
    }
    expect(parsed).toBeGreaterThan(500);
  });
});
