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

