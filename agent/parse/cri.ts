// CRI (containerd, CRI-O) log lines: `<RFC3339Nano> <stdout|stderr> <P|F>[:tag…] <content>`.
// The runtime splits long lines (16 KiB by default) into `P` pieces ended by an `F` piece.

import { isAscii } from 'node:buffer';
import type { LineBytes } from './bytes.js';
import { fitsEventTime, parseRfc3339Nano } from './time.js';
import { utf8Sequence } from './utf8.js';
import { inEventTime, parseErrorFragment, type Fragment } from './types.js';

/**
 * Never throws: a bad timestamp, stream or first tag makes a parse-error fragment; a timestamp a
 * Forward EventTime cannot hold gives the read time, flagged.
 */
export function parseCri(line: string, nowSec: number, nowNsec: number): Fragment {
  const s1 = line.indexOf(' ');
  if (s1 < 0) return parseErrorFragment(line, nowSec, nowNsec);
  const ts = parseRfc3339Nano(line, 0, s1);
  if (!ts) return parseErrorFragment(line, nowSec, nowNsec);
  const s2 = line.indexOf(' ', s1 + 1);
  if (s2 < 0) return parseErrorFragment(line, nowSec, nowNsec);
  let stream: string;
  if (s2 - s1 === 7 && line.startsWith('stdout', s1 + 1)) stream = 'stdout';
  else if (s2 - s1 === 7 && line.startsWith('stderr', s1 + 1)) stream = 'stderr';
  else return parseErrorFragment(line, nowSec, nowNsec);
  const s3 = line.indexOf(' ', s2 + 1);
  const tagEnd = s3 < 0 ? line.length : s3;
  // Only the first tag has a meaning today (P partial, F full); later ones are kept, not judged.
  const first = line.charCodeAt(s2 + 1);
  const afterFirst = s2 + 2;
  if ((first !== 80 && first !== 70) || (afterFirst !== tagEnd && line.charCodeAt(afterFirst) !== 58 /* : */)) {
    return parseErrorFragment(line, nowSec, nowNsec);
  }
  // `… F` with nothing after, or `… F ` with an empty content: an empty line.
  const content = s3 < 0 ? '' : line.slice(s3 + 1);
  const fragment = inEventTime({ sec: ts.sec, nsec: ts.nsec, stream, content, partial: first === 80 }, nowSec, nowNsec);
  if (afterFirst !== tagEnd) fragment.tags = line.slice(afterFirst + 1, tagEnd).split(':');
  return fragment;
}

/**
 * The common CRI line read from the bytes without making a string of it: `<time> stdout|stderr F
 * <text>`, one tag, text of well-formed UTF-8. Fills `out` and returns true only where parseCri
 * would give exactly that (a whole line, no further tags, not a parse error); otherwise false, and
 * the string path decides (test/unit/parse/line-bytes.test.ts).
 */
export function parseCriBytes(b: Buffer, s: number, e: number, out: LineBytes): boolean {
  // RFC 3339 with nanoseconds and an offset is at most 35 bytes.
  let s1 = s;
  const limit = Math.min(e, s + 40);
  while (s1 < limit && b[s1] !== 0x20) s1++;
  if (s1 >= limit || !out.times.parse(b, s, s1, out) || !fitsEventTime(out.sec)) return false;
  let stream: 'stdout' | 'stderr';
  if (b[s1 + 1] === 0x73 && b[s1 + 2] === 0x74 && b[s1 + 3] === 0x64 && b[s1 + 7] === 0x20) {
    // "std" + out|err
    if (b[s1 + 4] === 0x6f && b[s1 + 5] === 0x75 && b[s1 + 6] === 0x74) stream = 'stdout';
    else if (b[s1 + 4] === 0x65 && b[s1 + 5] === 0x72 && b[s1 + 6] === 0x72) stream = 'stderr';
    else return false;
  } else return false;
  const tag = s1 + 8;
  if (tag >= e || b[tag] !== 0x46 /* F */) return false;
  // `… F` at the end of the line, or `… F <text>`: anything else after F (a `:` tag) is not ours.
  let from: number;
  if (tag + 1 === e) from = e;
  else if (b[tag + 1] === 0x20) from = tag + 2;
  else return false;
  // Mostly ASCII: one native check of the whole text, the byte loop only when it is not.
  if (from < e && !isAscii(b.subarray(from, e))) {
    for (let i = from; i < e; i++) {
      const c = b[i]!;
      if (c < 0x80) continue;
      const n = c >= 0xc2 && c <= 0xf4 ? utf8Sequence(b, i, e) : 0;
      if (n === 0) return false;
      i += n - 1;
    }
  }
  out.start = from;
  out.end = e;
  out.length = e - from;
  out.stream = stream;
  return true;
}
