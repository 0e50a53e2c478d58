// Reading what a peer sent: entries of a PackedForward stream and the checks every mode's time and
// record go through. Errors name the entry and what was found instead.
import { EventTime } from './codec.js';
import { ForwardProtocolError } from './errors.js';
import { unpackMulti } from './unpack.js';

export type Entry = [EventTime | number, Record<string, unknown>];

/** Decode a PackedForward `entries` stream (already gunzipped) into [time, record] pairs. */
export function decodeEntries(buf: Uint8Array): Entry[] {
  const out: Entry[] = [];
  for (const e of unpackMulti(buf)) out.push(checkEntry(e, out.length));
  return out;
}

export function checkEntry(e: unknown, index: number): Entry {
  if (!Array.isArray(e) || e.length !== 2) throw new ForwardProtocolError(`entry ${index}: expected [time, record] (got ${describe(e)})`);
  checkTime(e[0], `entry ${index} time`);
  checkRecord(e[1], `entry ${index} record`);
  return e as Entry;
}

export function checkTime(t: unknown, what: string): asserts t is EventTime | number {
  if (t instanceof EventTime) return;
  if (typeof t === 'number' && Number.isFinite(t) && t >= 0) return;
  throw new ForwardProtocolError(`${what}: expected EventTime or a non-negative number (got ${describe(t)})`);
}

export function checkRecord(r: unknown, what: string): asserts r is Record<string, unknown> {
  if (typeof r === 'object' && r !== null && !Array.isArray(r) && !(r instanceof Uint8Array)) return;
  throw new ForwardProtocolError(`${what}: expected a map (got ${describe(r)})`);
}

/** An integer or float time (Message/Forward modes allow both) as seconds + nanoseconds. */
export function timeParts(t: EventTime | number): { sec: number; nsec: number } {
  if (t instanceof EventTime) return { sec: t.sec, nsec: t.nsec };
  const sec = Math.floor(t);
  return { sec, nsec: Math.min(999_999_999, Math.round((t - sec) * 1e9)) };
}

/** A short description of an unexpected value for error messages. */
export function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `bin(${v.byteLength})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v === null) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'map';
  return String(v);
}
