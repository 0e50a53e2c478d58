// What the byte paths of the docker and CRI parsers share: the line they fill in and the
// timestamp reader (their UTF-8 check is utf8Sequence in utf8.ts).
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
