// The shapes that flow through the parse stage: a physical line becomes a Fragment, one or more
// Fragments become an Assembled logical line, and an Assembled line becomes a record.
import { fitsEventTime } from './time.js';

export type Stream = 'stdout' | 'stderr' | string;

/** One physical line, parsed. */
export interface Fragment {
  /** From the line; plain lines and parse errors carry the read time passed in. */
  sec: number;
  nsec: number;
  stream: Stream;
  /**
   * The text without the trailing newline. Plain lines also lose one trailing `\r`; docker and CRI
   * content keeps a `\r` as the runtime wrote it (the application printed it).
   */
  content: string;
  /** More of the same logical line follows (docker: `log` without trailing `\n`; CRI: `P` tag). */
  partial: boolean;
  /** Did not parse as its format: `content` is the raw line, `stream` is `stdout`. */
  parseError?: boolean;
  /**
   * The line's own time cannot be sent (before 1970, or from 2106-02-07T06:28:16Z on: outside a
   * Forward EventTime, see fitsEventTime): `sec` / `nsec` are the read time instead.
   */
  timeOutOfRange?: boolean;
  /** Docker `attrs` (labels/env the daemon was told to add), values as strings. */
  attrs?: Record<string, string>;
  /** CRI tags after the first (`F:x:y` → `['x', 'y']`); kept for callers, not shipped. */
  tags?: string[];
}

/** One logical line: what becomes a record. Flags are present only when true. */
export interface Assembled {
  sec: number;
  nsec: number;
  stream: Stream;
  log: string;
  /** Emitted before its end arrived (flush on timeout or end of file, or too many open streams). */
  partial?: boolean;
  /** One of several pieces of a logical line longer than max_line_bytes. */
  truncated?: boolean;
  parse_error?: boolean;
  /** Its time is the read time: the line's own was outside what a Forward EventTime holds. */
  time_out_of_range?: boolean;
  attrs?: Record<string, string>;
}

/** A line that did not parse as its format: shipped as is, timed when it was read. */
export function parseErrorFragment(line: string, nowSec: number, nowNsec: number): Fragment {
  return { sec: nowSec, nsec: nowNsec, stream: 'stdout', content: line, partial: false, parseError: true };
}

/** `f` with the read time instead of its own, flagged, when an EventTime cannot hold its own; `f` itself. */
export function inEventTime(f: Fragment, nowSec: number, nowNsec: number): Fragment {
  if (!fitsEventTime(f.sec)) {
    f.sec = nowSec;
    f.nsec = nowNsec;
    f.timeOutOfRange = true;
  }
  return f;
}
