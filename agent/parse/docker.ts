// Docker json-file lines: {"log":"…\n","stream":"stdout","time":"2026-11-27T18:00:00.123456789Z"}
// plus an optional "attrs" object. Docker splits an application line at 16 KiB; every piece but
// the last has a `log` without the trailing "\n", which makes it a partial.

import { wordsOver, type LineBytes } from './bytes.js';
import { fitsEventTime, parseRfc3339Nano } from './time.js';
import { utf8Sequence } from './utf8.js';
import { inEventTime, parseErrorFragment, type Fragment } from './types.js';

const HEAD = '{"log":"';
// Above this, V8's native JSON.parse scans faster than the fast path's extra passes (measured with
// scripts/bench-parse.ts); docker's own lines are at most 16 KiB of text plus the envelope.
const FAST_PATH_MAX_CHARS = 4096;
const STREAM_KEY = '","stream":"';
const TIME_KEY = '","time":"';
// JSON.parse rejects raw control characters inside strings; the fast path must reject them too.
const CONTROL = /[\u0000-\u001f]/;

/** Never throws: anything that is not a docker line becomes a parse-error fragment. */
export function parseDocker(line: string, nowSec: number, nowNsec: number): Fragment {
  return parseDockerFast(line) ?? parseDockerJson(line, nowSec, nowNsec);
}

/**
 * The exact shape and key order the daemon writes, read without parsing the whole object, for
 * the common line whose text has no escape but the final "\n". Returns null on any doubt
 * (escapes, attrs, other key order, whitespace, a long line, a bad time or one an EventTime cannot
 * hold); the full JSON path
 * then decides, so both paths always agree.
 */
export function parseDockerFast(line: string): Fragment | null {
  if (line.length > FAST_PATH_MAX_CHARS || !line.startsWith(HEAD)) return null;
  const from = HEAD.length;
  let content: string;
  let partial: boolean;
  const quote = line.indexOf('"', from);
  const backslash = line.indexOf('\\', from);
  if (quote < 0) return null;
  if (backslash < 0 || backslash > quote) {
    // No escape at all: a partial (docker always escapes the final newline).
    content = line.slice(from, quote);
    partial = true;
    if (CONTROL.test(content)) return null;
  } else if (backslash === quote - 2 && line.charCodeAt(quote - 1) === 110 /* n */) {
    // The common line: no escape but the final "\n".
    content = line.slice(from, backslash);
    partial = false;
    if (CONTROL.test(content)) return null;
  } else {
    // Escapes inside the text: V8's JSON.parse of the whole line beats decoding them here
    // (scripts/bench-parse.ts), and is exact by definition.
    return null;
  }
  if (!line.startsWith(STREAM_KEY, quote)) return null;
  const streamFrom = quote + STREAM_KEY.length;
  const streamEnd = line.indexOf('"', streamFrom);
  if (streamEnd < 0) return null;
  let stream: string;
  if (streamEnd - streamFrom === 6 && line.startsWith('stdout', streamFrom)) stream = 'stdout';
  else if (streamEnd - streamFrom === 6 && line.startsWith('stderr', streamFrom)) stream = 'stderr';
  else {
    stream = line.slice(streamFrom, streamEnd);
    if (stream.includes('\\') || CONTROL.test(stream)) return null;
  }
  if (!line.startsWith(TIME_KEY, streamEnd)) return null;
  const timeFrom = streamEnd + TIME_KEY.length;
  const timeEnd = line.indexOf('"', timeFrom);
  if (timeEnd < 0 || timeEnd + 2 !== line.length || line.charCodeAt(timeEnd + 1) !== 125 /* } */) return null;
  const ts = parseRfc3339Nano(line, timeFrom, timeEnd);
  if (!ts || !fitsEventTime(ts.sec)) return null;
  return { sec: ts.sec, nsec: ts.nsec, stream, content, partial };
}

const HEAD_BYTES = Buffer.from(HEAD);
const STREAM_BYTES = Buffer.from(STREAM_KEY);
const TIME_BYTES = Buffer.from(TIME_KEY);
const STDOUT_BYTES = Buffer.from('stdout');
const STDERR_BYTES = Buffer.from('stderr');

/** Bytes that stand for themselves inside a JSON string: printable ASCII but `"` and `\\`. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c <= 0x7f; c++) if (c !== 0x22 && c !== 0x5c) PLAIN[c] = 1;

/** For each byte after a backslash: what the escape stands for, or -1 (\u is read apart). */
const SIMPLE_ESCAPE = new Int16Array(256).fill(-1);
for (const [c, v] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) {
  SIMPLE_ESCAPE[c.charCodeAt(0)] = v;
}

/**
 * The most common lines of all, read from the bytes without making a string of them: text of
 * well-formed UTF-8 (escapes allowed where they stand for ASCII: \" \\ \/ \b \f \n \r \t and
 * \u00XX below 0x80) ended by the escaped newline, stream stdout or stderr, and the daemon's key
 * order. Fills `out` and returns true only where parseDocker would give exactly that (not
 * partial, no attrs, no parse error) for the same line; on any doubt (bytes that are not UTF-8,
 * a raw control character, another escape, another shape) it returns false and the string path
 * decides (test/unit/parse/line-bytes.test.ts).
 */
export function parseDockerBytes(b: Buffer, s: number, e: number, out: LineBytes): boolean {
  if (!bytesAt(b, s, e, HEAD_BYTES)) return false;
  const from = s + HEAD_BYTES.length;
  let shrink = 0;
  let i = from;
  const words = wordsOver(b, out);
  const base = b.byteOffset;
  const wordsEnd = (base + e) >> 2;
  for (; i < e; i++) {
    const c = b[i]!;
    if (PLAIN[c] === 1) {
      // Runs of plain text go 4 bytes at a time from the next aligned word; the first word
      // that is not all plain is read byte by byte again.
      if (((base + i + 1) & 3) === 0) {
        let k = (base + i + 1) >> 2;
        while (k < wordsEnd && plainWord(words[k]!)) k++;
        i = (k << 2) - base - 1;
      }
      continue;
    }
    if (c === 0x5c) {
      const n = b[i + 1];
      if (n === 0x6e && b[i + 2] === 0x22) break; // the final \n"
      if (n === undefined) return false;
      if (SIMPLE_ESCAPE[n]! >= 0) {
        shrink += 1;
        i += 1;
      } else if (n === 0x75 && i + 5 < e && hexAscii(b, i + 2) >= 0) {
        shrink += 5;
        i += 5;
      } else return false;
    } else if (c >= 0xc2 && c <= 0xf4) {
      const n = utf8Sequence(b, i, e);
      if (n === 0) return false;
      i += n - 1;
    } else return false; // a raw control character, a quote (the text ends unescaped), or not UTF-8
  }
  if (i + 2 >= e) return false;
  const end = i;
  i += 2;
  if (!bytesAt(b, i, e, STREAM_BYTES)) return false;
  i += STREAM_BYTES.length;
  let stream: 'stdout' | 'stderr';
  if (bytesAt(b, i, e, STDOUT_BYTES)) stream = 'stdout';
  else if (bytesAt(b, i, e, STDERR_BYTES)) stream = 'stderr';
  else return false;
  i += 6;
  if (!bytesAt(b, i, e, TIME_BYTES)) return false;
  i += TIME_BYTES.length;
  // The time runs to the line's closing `"}`; the parser refuses anything but a timestamp in it.
  if (e - 2 <= i || b[e - 2] !== 0x22 || b[e - 1] !== 0x7d) return false;
  if (!out.times.parse(b, i, e - 2, out) || !fitsEventTime(out.sec)) return false;
  out.start = from;
  out.end = end;
  out.length = end - from - shrink;
  out.stream = stream;
  return true;
}

/**
 * Writes the text of `src[start, end)` (as accepted by parseDockerBytes) unescaped at `dst[p]`;
 * returns the end. Without escapes it is a plain copy.
 */
export function unescapeDockerText(src: Buffer, start: number, end: number, length: number, dst: Buffer, p: number): number {
  if (length === end - start) {
    src.copy(dst, p, start, end);
    return p + length;
  }
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    if (c !== 0x5c) {
      dst[p++] = c;
      continue;
    }
    const n = src[++i]!;
    if (n === 0x75) {
      dst[p++] = hexAscii(src, i + 1);
      i += 4;
    } else dst[p++] = SIMPLE_ESCAPE[n]!;
  }
  return p;
}

/**
 * Whether the 4 bytes of `w` are all PLAIN: none at 0x80 or above, below 0x20, `"` or `\\`. The
 * tests for a byte below a value and for a zero byte are exact about whether there is one.
 */
function plainWord(w: number): boolean {
  const q = w ^ 0x22222222;
  const bs = w ^ 0x5c5c5c5c;
  return ((w | ((w - 0x20202020) & ~w) | ((q - 0x01010101) & ~q) | ((bs - 0x01010101) & ~bs)) & 0x80808080) === 0;
}

/** The 4 hex digits at `b[at]` as a code below 0x80, or -1. */
function hexAscii(b: Buffer, at: number): number {
  if (b[at] !== 0x30 || b[at + 1] !== 0x30) return -1;
  const hi = hexDigit(b[at + 2]);
  const lo = hexDigit(b[at + 3]);
  return hi < 0 || lo < 0 || hi > 7 ? -1 : hi * 16 + lo;
}

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

function bytesAt(b: Buffer, at: number, end: number, what: Buffer): boolean {
  if (at + what.length > end) return false;
  for (let k = 0; k < what.length; k++) if (b[at + k] !== what[k]) return false;
  return true;
}

/** The general path: JSON.parse, then check every field. Exported for tests and the benchmark. */
export function parseDockerJson(line: string, nowSec: number, nowNsec: number): Fragment {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return parseErrorFragment(line, nowSec, nowNsec);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return parseErrorFragment(line, nowSec, nowNsec);
  const { log, stream, time, attrs } = value as Record<string, unknown>;
  if (typeof log !== 'string' || typeof stream !== 'string' || typeof time !== 'string') {
    return parseErrorFragment(line, nowSec, nowNsec);
  }
  const ts = parseRfc3339Nano(time);
  if (!ts) return parseErrorFragment(line, nowSec, nowNsec);
  const partial = log.charCodeAt(log.length - 1) !== 10;
  const fragment = inEventTime({ sec: ts.sec, nsec: ts.nsec, stream, content: partial ? log : log.slice(0, -1), partial }, nowSec, nowNsec);
  let a: Record<string, string> | undefined;
  try {
    a = attrsOf(attrs);
  } catch {
    // JSON.stringify recurses: attrs nested thousands deep throw a RangeError. The line is kept raw.
    return parseErrorFragment(line, nowSec, nowNsec);
  }
  if (a) fragment.attrs = a;
  return fragment;
}

/** Docker writes attrs as string → string; anything else is kept as its JSON text. */
function attrsOf(v: unknown): Record<string, string> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const entries = Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)] as const);
  // fromEntries defines own properties, so a "__proto__" key stays data, never a prototype.
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

