import { describe, expect, it } from 'vitest';
import { TimeBytes, daysFromCivil, parseRfc3339Nano } from '../../../agent/parse/time.js';
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

describe('TimeBytes (the byte path, with the minute of the last time cached)', () => {
  it('agrees with parseRfc3339Nano on 50,000 timestamps in runs that share a minute, and on broken ones', () => {
    const next = rng(3339);
    const tb = new TimeBytes();
    let minute = '2026-11-27T18:00:';
    for (let i = 0; i < 50_000; i++) {
      if (next() < 0.05) {
        const y = 1970 + Math.floor(next() * 100);
        minute = `${y}-${pad(1 + Math.floor(next() * 12))}-${pad(1 + Math.floor(next() * 31))}T${pad(Math.floor(next() * 24))}:${pad(Math.floor(next() * 60))}:`;
      }
      const sec = pad(Math.floor(next() * 62));
      const digits = Math.floor(next() * 13);
      const frac = digits === 0 ? '' : '.' + Array.from({ length: digits }, () => Math.floor(next() * 10)).join('');
      const zone = ['Z', 'Z', 'Z', 'z', '+01:00', '-05:30', ''][Math.floor(next() * 7)]!;
      let t = minute + sec + frac + zone;
      if (next() < 0.05) t = t.slice(0, Math.floor(next() * t.length)) + ['.', 'x', '9', ''][Math.floor(next() * 4)] + t.slice(Math.floor(next() * t.length));
      const b = Buffer.from(`"${t}"`, 'latin1');
      const out = { sec: -1, nsec: -1 };
      const want = parseRfc3339Nano(t);
      const got = tb.parse(b, 1, b.length - 1, out);
      expect(got, t).toBe(want !== null);
      if (want) expect(out, t).toEqual(want);
    }
  });
});
