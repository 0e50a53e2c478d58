// One line of `journalctl --output=json --all` → the Forward entry warden ships. Pure.
//
// journalctl's JSON: every field is a string, except a value that is not valid UTF-8 text (or holds
// control characters), which is an array of byte values, and a field present several times in one
// entry, which is an array of such values. Without `--all` a field over 4096 bytes would be null;
// warden always passes `--all`.
import { wellFormed } from '../parse/record.js';
import { fitsEventTime } from '../parse/time.js';
import { tagPart } from '../parse/tag.js';

/** What a journal entry becomes: tag, EventTime, record, and the entry's cursor. */
export interface JournalEntry {
  tag: string;
  sec: number;
  nsec: number;
  cursor: string;
  record: JournalRecord;
}

/**
 * The record: `log` is MESSAGE; `host` is warden's node name (as for file records); the others
 * appear only where the entry has them.
 */
export interface JournalRecord {
  log: string;
  host: string;
  systemd_unit?: string;
  syslog_identifier?: string;
  priority?: number;
  pid?: number;
  /** The entry's time was past what a Forward EventTime holds (2106-02-07): it is sent with the read time. */
  time_out_of_range?: boolean;
}

/** Thrown when a line is not a journal entry (not JSON, or without `__CURSOR`). */
export class JournalEntryError extends Error {
  override name = 'JournalEntryError';
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * A field's text: a string as is (a lone surrogate from a `\ud800` escape becomes U+FFFD); bytes
 * decoded as UTF-8 (invalid sequences become U+FFFD); of several values, the first. Null when
 * absent or of no known shape.
 */
export function fieldText(v: unknown): string | null {
  if (typeof v === 'string') return wellFormed(v);
  if (!Array.isArray(v) || v.length === 0) return null;
  if (typeof v[0] === 'number') {
    const bytes = Uint8Array.from(v as unknown[], (b) => (typeof b === 'number' ? b & 0xff : 0x3f));
    return utf8.decode(bytes);
  }
  return fieldText(v[0]);
}

function fieldInt(v: unknown): number | null {
  const s = fieldText(v);
  if (s === null || !/^\d{1,15}$/.test(s)) return null;
  return Number(s);
}

/** The unit a tag names: `_SYSTEMD_UNIT`, else `SYSLOG_IDENTIFIER`, else `_`. */
export function journalTag(unit: string | null, identifier: string | null): string {
  return `journal.${tagPart(unit ?? identifier ?? '')}`;
}

/**
 * Parse one JSON line. Time is `__REALTIME_TIMESTAMP` (µs since the epoch, when the entry was
 * received by journald); an entry without it, or with one past what an EventTime holds (flagged
 * `time_out_of_range`), gets `nowMs`.
 */
export function parseJournalLine(line: string, host: string, nowMs: number): JournalEntry {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    throw new JournalEntryError(`not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new JournalEntryError('not a JSON object');
  const e = doc as Record<string, unknown>;
  const cursor = e.__CURSOR;
  if (typeof cursor !== 'string' || cursor === '') throw new JournalEntryError('no __CURSOR');

  let sec = Math.floor(nowMs / 1000);
  let nsec = (nowMs % 1000) * 1_000_000;
  let outOfRange = false;
  const rt = typeof e.__REALTIME_TIMESTAMP === 'string' && /^\d{1,19}$/.test(e.__REALTIME_TIMESTAMP) ? e.__REALTIME_TIMESTAMP : null;
  if (rt !== null) {
    // Split the digits rather than divide: µs since the epoch approach 2^53 only in year ~2255,
    // but the string is exact whatever its size.
    const own = Number(rt.slice(0, -6) || '0');
    outOfRange = !fitsEventTime(own);
    if (!outOfRange) {
      sec = own;
      nsec = Number(rt.slice(-6)) * 1000;
    }
  }

  const unit = fieldText(e._SYSTEMD_UNIT);
  const ident = fieldText(e.SYSLOG_IDENTIFIER);
  const record: JournalRecord = { log: fieldText(e.MESSAGE) ?? '', host };
  if (unit !== null) record.systemd_unit = unit;
  if (ident !== null) record.syslog_identifier = ident;
  const priority = fieldInt(e.PRIORITY);
  if (priority !== null) record.priority = priority;
  const pid = fieldInt(e._PID);
  if (pid !== null) record.pid = pid;
  if (outOfRange) record.time_out_of_range = true;
  return { tag: journalTag(unit, ident), sec, nsec, cursor, record };
}
