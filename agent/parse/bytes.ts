// What the byte paths of the docker and CRI parsers share: the line they fill in, the check
// that text is UTF-8 that survives a decode and encode unchanged, and the timestamp reader.
import { TimeBytes } from './time.js';

/**
 * A line read as bytes (parseDockerBytes, parseCriBytes): its text is `bytes[start, end)`,
 * well-formed UTF-8 with, for docker, JSON escapes in it; `length` is its length in bytes once
 * unescaped (end - start when there are none).
 */
export interface LineBytes {
  start: number;
  end: number;
  length: number;
  stream: 'stdout' | 'stderr';
  sec: number;
  nsec: number;
}

/** One TimeBytes for every file: its cache only saves work, whatever file parsed last. */
export const lineTimes = new TimeBytes();

/**
 * The length of the well-formed UTF-8 sequence at `b[i]` (a lead byte 0xc2–0xf4) that ends before
 * `e`, or 0: no overlong forms, no surrogates, nothing above U+10FFFF. Exactly the sequences that
 * Buffer#toString decodes and Buffer#write encodes back to the same bytes.
 */
export function utf8Sequence(b: Buffer, i: number, e: number): number {
  const c = b[i]!;
  const c1 = b[i + 1]!;
  if (c < 0xe0) return i + 1 < e && (c1 & 0xc0) === 0x80 ? 2 : 0;
  if (c < 0xf0) {
    if (i + 2 >= e) return 0;
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return c1 >= lo && c1 <= hi && (b[i + 2]! & 0xc0) === 0x80 ? 3 : 0;
  }
  if (i + 3 >= e) return 0;
  const lo = c === 0xf0 ? 0x90 : 0x80;
  const hi = c === 0xf4 ? 0x8f : 0xbf;
  return c1 >= lo && c1 <= hi && (b[i + 2]! & 0xc0) === 0x80 && (b[i + 3]! & 0xc0) === 0x80 ? 4 : 0;
}
