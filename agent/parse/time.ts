// RFC 3339 timestamps with up to nanosecond precision, as docker (Go's RFC3339Nano, which trims
// trailing zeros, so 0–9 fraction digits) and CRI runtimes write them. Date keeps milliseconds
// only, so the fraction is read as an integer and the seconds come from integer calendar math.

export interface Timestamp {
  sec: number;
  nsec: number;
}

/** The last second a Forward EventTime (uint32 seconds) can carry: 2106-02-07T06:28:15Z. */
export const EVENT_TIME_MAX_SEC = 0xffff_ffff;

/**
 * Whether a record time can be sent as it is: a Forward EventTime holds seconds from 1970 to
 * 2106-02-07T06:28:15Z, and anything else would arrive wrapped around (year 2200 as 2063).
 */
export function fitsEventTime(sec: number): boolean {
  return sec >= 0 && sec <= EVENT_TIME_MAX_SEC;
}

const POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/** Parses `s[start, end)` as `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; null when it is not one. */
export function parseRfc3339Nano(s: string, start = 0, end = s.length): Timestamp | null {
  if (end - start < 20) return null;
  const year = num(s, start, 4);
  const month = num(s, start + 5, 2);
  const day = num(s, start + 8, 2);
  const hour = num(s, start + 11, 2);
  const minute = num(s, start + 14, 2);
  const second = num(s, start + 17, 2);
  if (
    year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 ||
    s.charCodeAt(start + 4) !== 45 || s.charCodeAt(start + 7) !== 45 ||
    (s.charCodeAt(start + 10) | 0x20) !== 0x74 /* T or t */ ||
    s.charCodeAt(start + 13) !== 58 || s.charCodeAt(start + 16) !== 58
  ) {
    return null;
  }
  let i = start + 19;
  let nsec = 0;
  if (s.charCodeAt(i) === 46 /* . */) {
    const from = ++i;
    while (i < end && isDigit(s.charCodeAt(i))) {
      // Digits past the ninth are below a nanosecond: accepted, ignored.
      if (i - from < 9) nsec = nsec * 10 + (s.charCodeAt(i) - 48);
      i++;
    }
    const n = i - from;
    if (n === 0) return null;
    if (n < 9) nsec *= POW10[9 - n]!;
  }
  let offset = 0;
  const c = s.charCodeAt(i);
  if ((c | 0x20) === 0x7a /* Z or z */) {
    i++;
  } else if (c === 43 || c === 45) {
    const oh = num(s, i + 1, 2);
    const om = num(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59 || s.charCodeAt(i + 3) !== 58) return null;
    offset = (c === 45 ? -1 : 1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return null;
  }
  if (i !== end) return null;
  // A leap second (:60) lands on the next second, as Date.UTC would place it.
  const sec = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  return { sec, nsec };
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The n-digit decimal at s[i]; -1 when any of them is not a digit (or past the end). */
function num(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/**
 * parseRfc3339Nano over the ASCII bytes `b[start, end)`, for lines read as bytes. Lines of a file
 * come in time order, so most share the minute (`YYYY-MM-DDTHH:MM:`) of the one before: that
 * prefix is compared with the last one parsed, and only the seconds and fraction of a UTC time
 * are read here. Anything else goes through parseRfc3339Nano itself, so both always agree.
 */
export class TimeBytes {
  private readonly minute = Buffer.alloc(17);
  private minuteSec = -1;

  /** Sets `out.sec` / `out.nsec`; false when it is not a timestamp. */
  parse(b: Buffer, start: number, end: number, out: Timestamp): boolean {
    if (this.minuteSec >= 0 && end - start >= 20 && (b[end - 1]! | 0x20) === 0x7a /* Z or z */ && this.sameMinute(b, start)) {
      const s1 = b[start + 17]! - 48;
      const s2 = b[start + 18]! - 48;
      if (s1 >= 0 && s1 <= 9 && s2 >= 0 && s2 <= 9 && s1 * 10 + s2 <= 60) {
        let i = start + 19;
        let nsec = 0;
        let ok = true;
        if (i < end - 1) {
          ok = b[i] === 46; /* . */
          const from = ++i;
          for (; ok && i < end - 1; i++) {
            const c = b[i]! - 48;
            if (c < 0 || c > 9) ok = false;
            else if (i - from < 9) nsec = nsec * 10 + c;
          }
          const n = i - from;
          if (n === 0) ok = false;
          else if (n < 9) nsec *= POW10[9 - n]!;
        }
        if (ok) {
          out.sec = this.minuteSec + s1 * 10 + s2;
          out.nsec = nsec;
          return true;
        }
      }
    }
    const ts = parseRfc3339Nano(b.toString('latin1', start, end));
    if (!ts) return false;
    out.sec = ts.sec;
    out.nsec = ts.nsec;
    if ((b[end - 1]! | 0x20) === 0x7a) {
      b.copy(this.minute, 0, start, start + 17);
      this.minuteSec = ts.sec - ((b[start + 17]! - 48) * 10 + (b[start + 18]! - 48));
    }
    return true;
  }

  private sameMinute(b: Buffer, start: number): boolean {
    const m = this.minute;
    for (let k = 16; k >= 0; k--) if (b[start + k] !== m[k]) return false;
    return true;
  }
}
