import { parseRfc3339Nano } from './time.js';
import { inEventTime, type Fragment } from './types.js';

/**
 * Raw text as is: the continuation of a line the reader cut (its first piece had the format's
 * time and stream, which the reassembler keeps). One trailing `\r` goes (CRLF files).
 */
export function parsePlain(line: string, nowSec: number, nowNsec: number): Fragment {
  const content = line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
  return { sec: nowSec, nsec: nowNsec, stream: 'stdout', content, partial: false };
}

/**
 * A host log line (`format: plain`). Its time is the line's own when it starts with an RFC 3339
 * timestamp (rsyslog's and journald's modern file format, `2026-12-01T10:00:00.123456+01:00 …`) or
 * a classic syslog one (`Dec  1 10:00:00 …`, local time, no year: this year, or last year when that
 * would be more than a day ahead of `now`, so December lines read in January land in December);
 * otherwise, and when a Forward EventTime cannot hold it (before 1970, after 2106: flagged), the
 * read time. The text is kept whole. Host files have no stream: `stream` is empty,
 * and records leave it out.
 */
export function parseHostLine(line: string, nowSec: number, nowNsec: number): Fragment {
  const f = parsePlain(line, nowSec, nowNsec);
  f.stream = '';
  const t = leadingTime(f.content, nowSec);
  if (!t) return f;
  f.sec = t.sec;
  f.nsec = t.nsec;
  return inEventTime(f, nowSec, nowNsec);
}

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
const SYSLOG = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?= |$)/;

/** The timestamp a line starts with (followed by a space or the end), or null. */
export function leadingTime(s: string, nowSec: number): { sec: number; nsec: number } | null {
  const c = s.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    const sp = s.indexOf(' ');
    return parseRfc3339Nano(s, 0, sp < 0 ? s.length : sp);
  }
  if (c < 65 || c > 90) return null;
  const m = SYSLOG.exec(s);
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]!) / 3;
  if (!Number.isInteger(month) || month < 0) return null;
  const [day, hour, minute, second] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const nsec = m[6] ? Number(m[6].padEnd(9, '0')) : 0;
  const at = (year: number) => {
    const d = new Date(year, month, day, hour, minute, second);
    // Feb 30 and the like roll over into the next month: not a date.
    return d.getMonth() === month && d.getDate() === day ? Math.floor(d.getTime() / 1000) : null;
  };
  const year = new Date(nowSec * 1000).getFullYear();
  let sec = at(year);
  if (sec === null || sec > nowSec + 86400) sec = at(year - 1);
  return sec === null ? null : { sec, nsec };
}
