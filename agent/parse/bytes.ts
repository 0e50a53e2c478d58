// What the byte paths of the docker and CRI parsers share: the line they fill in, which also
// carries its reader's timestamp cache (their UTF-8 check is utf8Sequence in utf8.ts).
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
  /**
   * The timestamp reader for the lines parsed into this object (one per pipeline or reader; its
   * cache only saves work, whatever file parsed last).
   */
  times: TimeBytes;
}

/** A LineBytes to parse into, with its own timestamp reader. */
export function newLineBytes(): LineBytes {
  return { start: 0, end: 0, length: 0, stream: 'stdout', sec: 0, nsec: 0, times: new TimeBytes() };
}
