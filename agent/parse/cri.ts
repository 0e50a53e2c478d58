// CRI (containerd, CRI-O) log lines: `<RFC3339Nano> <stdout|stderr> <P|F>[:tag…] <content>`.
// The runtime splits long lines (16 KiB by default) into `P` pieces ended by an `F` piece.

import { parseRfc3339Nano } from './time.js';
import { parseErrorFragment, type Fragment } from './types.js';

/** Never throws: a bad timestamp, stream or first tag makes a parse-error fragment. */
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
  const fragment: Fragment = { sec: ts.sec, nsec: ts.nsec, stream, content, partial: first === 80 };
  if (afterFirst !== tagEnd) fragment.tags = line.slice(afterFirst + 1, tagEnd).split(':');
  return fragment;
}
