import { describe, expect, it } from 'vitest';
import { daysFromCivil, parseRfc3339Nano } from '../../../agent/parse/time.js';
import { rng } from '../../fixtures/parse/random.js';

const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');

describe('parseRfc3339Nano', () => {
  it('agrees with Date on random instants from year 1 to 9999, in any offset', () => {
    const next = rng(4);
    const min = Date.UTC(1, 0, 1) + 86_400_000;
    const max = Date.UTC(9999, 11, 31) - 86_400_000;
    for (let i = 0; i < 5000; i++) {
      const ms = Math.floor(min + next() * (max - min));
      const offMin = Math.floor(next() * 2879) - 1439; // ±23:59
      const local = new Date(ms + offMin * 60_000).toISOString(); // …sssZ
      const zone = offMin === 0 && next() < 0.5 ? 'Z' : `${offMin < 0 ? '-' : '+'}${pad(Math.trunc(offMin / 60))}:${pad(offMin % 60)}`;
      const extra = String(Math.floor(next() * 1e6)).padStart(6, '0');
      const s = `${local.slice(0, 23)}${extra}${zone}`;
      expect(parseRfc3339Nano(s), s).toStrictEqual({ sec: Math.floor(ms / 1000), nsec: (((ms % 1000) + 1000) % 1000) * 1e6 + Number(extra) });
    }
  });

  it('daysFromCivil matches Date.UTC', () => {
    for (const [y, m, d] of [[1970, 1, 1], [1969, 12, 31], [2000, 2, 29], [2100, 3, 1], [1600, 1, 1], [9999, 12, 31]] as const) {
      expect(daysFromCivil(y, m, d)).toBe(Date.UTC(y, m - 1, d) / 86_400_000);
    }
  });

  it('reads a slice of a longer string', () => {
    expect(parseRfc3339Nano('xx2026-11-27T18:00:00.1Zyy', 2, 24)).toStrictEqual({ sec: 1_795_802_400, nsec: 100_000_000 });
  });

  it('takes 0 to 9 fraction digits exactly; digits past nanoseconds are ignored', () => {
    expect(parseRfc3339Nano('2026-11-27T18:00:00Z')).toStrictEqual({ sec: 1_795_802_400, nsec: 0 });
    expect(parseRfc3339Nano('2026-11-27T18:00:00.000000009Z')).toStrictEqual({ sec: 1_795_802_400, nsec: 9 });
    expect(parseRfc3339Nano('2026-11-27T18:00:00.9999999999Z')).toStrictEqual({ sec: 1_795_802_400, nsec: 999_999_999 });
    expect(parseRfc3339Nano('2026-11-27T18:00:60Z')).toStrictEqual({ sec: 1_795_802_460, nsec: 0 });
  });

  it.each([
    '2100-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-00-10T00:00:00Z', '2026-11-27T24:00:00Z', '2026-11-27T18:60:00Z',
    '2026-11-27T18:00:61Z', '2026-11-27T18:00:00+24:00', '2026-11-27T18:00:00+05', '2026-11-27T18:00:00+0530',
    '2026-11-27T18:00:00.Z', '2026-11-27T18:00:00Zx', '2026-11-27T18:00:00', '2026/11/27T18:00:00Z', '26-11-27T18:00:00Z',
    '２026-11-27T18:00:00Z', '', '2026-11-27T18:00:00.1 Z',
  ])('rejects %j', (s) => {
    expect(parseRfc3339Nano(s)).toBeNull();
  });
});
