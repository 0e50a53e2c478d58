// Docker json-file lines: {"log":"…\n","stream":"stdout","time":"2026-11-27T18:00:00.123456789Z"}
// plus an optional "attrs" object. Docker splits an application line at 16 KiB; every piece but
// the last has a `log` without the trailing "\n", which makes it a partial.

import { parseRfc3339Nano } from './time.js';
import { parseErrorFragment, type Fragment } from './types.js';

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
 * (escapes, attrs, other key order, whitespace, a long line, a bad time); the full JSON path
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
  if (!ts) return null;
  return { sec: ts.sec, nsec: ts.nsec, stream, content, partial };
}

/** The common docker line as found in the read buffer: `log` is `bytes[start, end)`, all ASCII. */
export interface DockerLine {
  start: number;
  end: number;
  stream: 'stdout' | 'stderr';
  sec: number;
  nsec: number;
}

const HEAD_BYTES = Buffer.from(HEAD);
const STREAM_BYTES = Buffer.from(STREAM_KEY);
const TIME_BYTES = Buffer.from(TIME_KEY);
const STDOUT_BYTES = Buffer.from('stdout');
const STDERR_BYTES = Buffer.from('stderr');

/**
 * The most common line of all, read from the bytes without making a string of it: printable ASCII
 * text ended by the escaped "\n", stream stdout or stderr, and the daemon's key order. Fills `out`
 * and returns true only where parseDocker would give exactly that (not partial, no attrs, no
 * parse error) for the same line; on any doubt (an escape, a byte outside 0x20–0x7f, another
 * shape) it returns false and the string path decides (test/unit/parse/docker-bytes.test.ts).
 */
export function parseDockerBytes(b: Buffer, s: number, e: number, out: DockerLine): boolean {
  if (!bytesAt(b, s, e, HEAD_BYTES)) return false;
  const from = s + HEAD_BYTES.length;
  let i = from;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7f) break;
  }
  // The text must end at the escaped newline that ends the JSON string.
  if (i + 2 >= e || b[i] !== 0x5c || b[i + 1] !== 0x6e) return false;
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
  const ts = parseRfc3339Nano(b.toString('latin1', i, e - 2));
  if (!ts) return false;
  out.start = from;
  out.end = end;
  out.stream = stream;
  out.sec = ts.sec;
  out.nsec = ts.nsec;
  return true;
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
  const fragment: Fragment = { sec: ts.sec, nsec: ts.nsec, stream, content: partial ? log : log.slice(0, -1), partial };
  const a = attrsOf(attrs);
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

