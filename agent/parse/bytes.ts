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
  /** The read buffer's memory as 32-bit words (parseDockerBytes scans plain text 4 bytes at a time), and whose memory it is. */
  words: Int32Array;
  wordsOf: ArrayBufferLike | null;
}

/** `out.words` over `b`'s memory, made once per buffer memory (a read block), not per line. */
export function wordsOver(b: Buffer, out: LineBytes): Int32Array {
  if (out.wordsOf !== b.buffer) {
    out.words = new Int32Array(b.buffer, 0, b.buffer.byteLength >> 2);
    out.wordsOf = b.buffer;
  }
  return out.words;
}

/** A LineBytes to parse into, with its own timestamp reader. */
export function newLineBytes(): LineBytes {
  return { start: 0, end: 0, length: 0, stream: 'stdout', sec: 0, nsec: 0, times: new TimeBytes(), words: new Int32Array(0), wordsOf: null };
}
