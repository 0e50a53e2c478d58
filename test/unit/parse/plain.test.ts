import { describe, expect, it } from 'vitest';
import { leadingTime, parseHostLine } from '../../../agent/parse/plain.js';
import { buildRecord } from '../../../agent/parse/record.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0) / 1000; // 2026-12-01T12:00:00Z
const local = (y: number, mo: number, d: number, h: number, mi: number, s: number) => new Date(y, mo, d, h, mi, s).getTime() / 1000;

describe('host lines (format: plain)', () => {
  it('an RFC 3339 timestamp at the start is the record time, to the nanosecond, zone applied', () => {
    expect(parseHostLine('2026-12-01T10:00:00.123456789+01:00 node kubelet[7]: started', NOW, 5)).toStrictEqual({
      sec: Date.UTC(2026, 11, 1, 9, 0, 0) / 1000,
      nsec: 123_456_789,
      stream: '',
      content: '2026-12-01T10:00:00.123456789+01:00 node kubelet[7]: started',
      partial: false,
    });
    expect(parseHostLine('2026-12-01T10:00:00Z', NOW, 5)).toMatchObject({ sec: Date.UTC(2026, 11, 1, 10) / 1000, nsec: 0 });
  });

  it('a classic syslog timestamp is local time of this year, or last year when it would be ahead', () => {
    expect(parseHostLine('Dec  1 10:00:00 node sshd[1]: accepted', NOW, 5)).toMatchObject({ sec: local(2026, 11, 1, 10, 0, 0), nsec: 0, stream: '' });
    expect(leadingTime('Nov 30 23:59:59.5 node x', NOW)).toStrictEqual({ sec: local(2026, 10, 30, 23, 59, 59), nsec: 500_000_000 });
    // Read on Jan 1: "Dec 31" is last year's December.
    const jan1 = local(2027, 0, 1, 0, 5, 0);
    expect(leadingTime('Dec 31 23:59:00 node cron: ran', jan1)!.sec).toBe(local(2026, 11, 31, 23, 59, 0));
  });

  it('anything else keeps the read time: no timestamp, a broken one, a date that does not exist', () => {
    for (const line of ['2026 was a good year', '2026-13-01T00:00:00Z text', 'Feb 30 10:00:00 x', 'Monday 10:00:00', 'Dec 1 10:00:00x', 'started', '']) {
      expect(parseHostLine(line, NOW, 5), line).toMatchObject({ sec: NOW, nsec: 5, content: line });
    }
  });

  it('one trailing \\r goes, and records of host files carry no stream', () => {
    const f = parseHostLine('crlf\r', NOW, 0);
    expect(f.content).toBe('crlf');
    expect(buildRecord({ sec: f.sec, nsec: f.nsec, stream: f.stream, log: f.content }, { k8s: null, dockerId: null, host: 'h' })).toStrictEqual({ log: 'crlf', host: 'h' });
  });
});
