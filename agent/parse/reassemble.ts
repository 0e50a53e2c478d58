// Joins the physical lines of one file into logical lines, like Fluent Bit's tail_dockermode.c:
// one pending logical line per stream, ended by a fragment that is not partial.
//
// Bounds: a logical line is emitted in pieces of at most maxLineBytes UTF-8 bytes, each flagged
// `truncated` — never dropped, never held whole. A pending line holds at most maxLineBytes plus
// one fragment, and at most MAX_PENDING of them exist (docker's `stream` is free text, so a
// hostile file could name many); the oldest is emitted as `partial` to make room.
//
// The reader's own cut: when a physical line is longer than the reader's buffer, the reader hands
// it over in pieces and says `cut` for every piece but the last. The first piece is parsed by the
// format (it holds the timestamp, stream and tag); the following pieces are raw text of the same
// physical line, so whatever parser they went through, their `content` is appended to the first
// piece's pending line (pass them through parsePlain so `content` is the raw text). Whether the
// logical line ends with the physical one is decided by the first piece: a CRI `P` line continues.
//
// Where a restart may resume: each pending line remembers, per physical line it holds text of, the
// line's start offset in the file (`at`) and how many of its bytes are still held. Pieces shipped
// use up the oldest bytes first, so `heldFrom()` is the start of the oldest physical line still
// (partly) held: the checkpoint may pass every line before it once what was shipped is acked, even
// inside a chain of thousands of `P` fragments. A line partly shipped is read again after a
// restart (at least once), and the rest of the chain continues as a new partial.

import type { Assembled, Fragment, Stream } from './types.js';
import { utf8Length, utf8PrefixEnd } from './utf8.js';

const MAX_PENDING = 8;
// Parse errors are joined apart from any stream: their text is raw and must not be glued to a
// stream's pending line.
const PARSE_ERROR_KEY = 'e';

interface Pending {
  sec: number;
  nsec: number;
  /** The time is the read time (the line's own did not fit an EventTime). */
  timeOutOfRange: boolean;
  stream: Stream;
  parts: string[];
  bytes: number;
  truncated: boolean;
  parseError: boolean;
  attrs?: Record<string, string>;
  /** Physical lines with bytes still held, oldest first from `markHead` (see `heldFrom`). */
  marks: Mark[];
  markHead: number;
}

interface Mark {
  at: number;
  bytes: number;
}

/** The physical line the reader is in the middle of (after a `cut` piece). */
interface CutLine {
  key: string;
  stream: Stream;
  headPartial: boolean;
  parseError: boolean;
  attrs?: Record<string, string>;
  /** Where the physical line starts in the file. */
  at: number;
}

export class Reassembler {
  readonly #max: number;
  readonly #pending = new Map<string, Pending>();
  #cut: CutLine | null = null;
  #bytes = 0;

  constructor(maxLineBytes: number) {
    // Four bytes is one code point: every piece then holds at least one, so splitting progresses.
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 4) {
      throw new RangeError(`Reassembler maxLineBytes must be an integer >= 4, got ${String(maxLineBytes)}`);
    }
    this.#max = maxLineBytes;
  }

  /**
   * cut = the reader had to split this physical line at max_line_bytes (no newline yet); at = where
   * the piece's physical line starts in the file (a piece after a cut belongs to its first piece's).
   */
  push(f: Fragment, cut = false, at = 0): Assembled[] {
    const inCut = this.#cut;
    const head: CutLine = inCut ?? {
      key: f.parseError ? PARSE_ERROR_KEY : `s${f.stream}`,
      stream: f.stream,
      headPartial: f.partial,
      parseError: f.parseError === true,
      attrs: f.attrs,
      at,
    };
    this.#cut = cut ? head : null;
    const ends = !cut && !head.headPartial;

    let p = this.#pending.get(head.key);
    const out: Assembled[] = [];
    if (!p) {
      // The common case: a whole line that fits. Each UTF-16 unit is at most 3 UTF-8 bytes.
      if (ends && (f.content.length * 3 <= this.#max || utf8Length(f.content) <= this.#max)) {
        return [assembled(f, head.stream, f.content, false, false, head.parseError, head.attrs)];
      }
      if (this.#pending.size >= MAX_PENDING) {
        const [oldestKey, oldest] = this.#pending.entries().next().value as [string, Pending];
        this.#drop(oldestKey, oldest);
        if (oldest.bytes > 0) out.push(finish(oldest, true));
      }
      p = { sec: f.sec, nsec: f.nsec, timeOutOfRange: f.timeOutOfRange === true, stream: head.stream, parts: [], bytes: 0, truncated: false, parseError: head.parseError, attrs: head.attrs, marks: [], markHead: 0 };
      this.#pending.set(head.key, p);
    }
    const size = utf8Length(f.content);
    p.parts.push(f.content);
    p.bytes += size;
    this.#bytes += size;
    addMark(p, head.at, size);
    while (p.bytes > this.#max) {
      const text = p.parts.length === 1 ? p.parts[0]! : p.parts.join('');
      const end = utf8PrefixEnd(text, this.#max);
      const piece = text.slice(0, end);
      const pieceBytes = utf8Length(piece);
      p.parts = [text.slice(end)];
      p.bytes -= pieceBytes;
      this.#bytes -= pieceBytes;
      p.truncated = true;
      shipMarks(p, pieceBytes);
      out.push(assembled(p, p.stream, piece, false, true, p.parseError, p.attrs));
    }
    if (ends) {
      this.#drop(head.key, p);
      out.push(finish(p, false));
    }
    return out;
  }

  /** Emits what is pending (flagged partial: true) — called on a timeout or when the file is finished. */
  flush(): Assembled[] {
    const out: Assembled[] = [];
    for (const [key, p] of this.#pending) {
      this.#drop(key, p);
      // An empty pending line (a `P` piece with no content) carries nothing to ship.
      if (p.bytes > 0) out.push(finish(p, true));
    }
    return out;
  }

  /** Nothing held: no pending line (not even an empty one) and not inside a cut physical line. */
  isEmpty(): boolean {
    return this.#pending.size === 0 && this.#cut === null;
  }

  pendingBytes(): number {
    return this.#bytes;
  }

  /** Start of the oldest physical line whose text is held (or that is cut, unfinished); -1 for none. */
  heldFrom(): number {
    let from = this.#cut ? this.#cut.at : -1;
    // Nothing pending holds text (the plain line's usual case): no walk over the map.
    if (this.#bytes === 0) return from;
    for (const p of this.#pending.values()) {
      if (p.bytes === 0) continue;
      const at = p.marks[p.markHead]!.at;
      if (from < 0 || at < from) from = at;
    }
    return from;
  }

  #drop(key: string, p: Pending): void {
    this.#pending.delete(key);
    this.#bytes -= p.bytes;
  }
}

/** `bytes` more of the physical line at `at` are held; a mark with nothing held left is reused. */
function addMark(p: Pending, at: number, bytes: number): void {
  const last = p.marks.length > p.markHead ? p.marks[p.marks.length - 1]! : null;
  if (last && last.at === at) last.bytes += bytes;
  else if (last && last.bytes === 0) {
    last.at = at;
    last.bytes = bytes;
  } else p.marks.push({ at, bytes });
}

/** `bytes` of the oldest held text were shipped; the last mark stays (it names the line held next). */
function shipMarks(p: Pending, bytes: number): void {
  const m = p.marks;
  while (bytes > 0 && m.length - p.markHead > 0) {
    const head = m[p.markHead]!;
    const take = Math.min(bytes, head.bytes);
    head.bytes -= take;
    bytes -= take;
    if (head.bytes > 0 || m.length - p.markHead === 1) break;
    p.markHead++;
  }
  // Fully shipped marks are dropped in bulk: amortised O(1) per physical line.
  if (p.markHead >= 64 && p.markHead * 2 >= m.length) {
    m.splice(0, p.markHead);
    p.markHead = 0;
  }
}

function finish(p: Pending, partial: boolean): Assembled {
  return assembled(p, p.stream, p.parts.join(''), partial, p.truncated, p.parseError, p.attrs);
}

/** The time a logical line takes from the fragment it starts with (a Fragment or a Pending). */
interface Stamp {
  sec: number;
  nsec: number;
  timeOutOfRange?: boolean;
}

function assembled(
  t: Stamp,
  stream: Stream,
  log: string,
  partial: boolean,
  truncated: boolean,
  parseError: boolean,
  attrs: Record<string, string> | undefined,
): Assembled {
  const a: Assembled = { sec: t.sec, nsec: t.nsec, stream, log };
  if (partial) a.partial = true;
  if (truncated) a.truncated = true;
  if (parseError) a.parse_error = true;
  if (t.timeOutOfRange) a.time_out_of_range = true;
  if (attrs) a.attrs = attrs;
  return a;
}
