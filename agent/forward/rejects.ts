// A chunk the receiver keeps refusing must not stall every file behind it. A receiver refuses a
// message by closing the connection on it without an ack (fluentd's in_forward does so on what it
// cannot read, and so did `warden sink` on a `__proto__` key): the same close a child killed in the
// middle of a chunk gives. What tells them apart is the message before it: a refusal comes right
// after the receiver acked something sent just before the chunk on the same connection, every
// time. So when a connection that had passed its handshake ends that way, the chunk takes a strike;
// when the chunk is the first thing sent, the next connection sends an empty chunk (fluentd and
// the sink ack those) ahead of it to find out.
//
// A chunk of several records that takes SPLIT_AFTER strikes in a row is sent again in two halves
// (nothing is lost, and the records the receiver takes go through; one strike is what a child
// killed in the middle of a chunk gives, and the next child takes it); each half starts one strike
// short of being split again. A single record is given up after `limit` strikes in a row of its
// own, counted in warden_bytes_lost_total{reason="rejected"}. Like Fluent Bit's Retry_Limit or
// fluentd's retry_max_times, but per record rather than per chunk, and never for a connection that
// ended any other way (an ack timeout is a slow receiver, not a refusal).
import { EventTime } from './codec.js';
import { formatTime } from './sink-output.js';
import { entriesPrefixEnd } from './walk.js';

/** What a rejection check needs of a chunk. */
export interface Judged {
  count: number;
  /** Connections in a row that ended on it right after acking what was sent before it. */
  strikes: number;
  /** It was the first unacked chunk when a connection ended: the next connection probes first. */
  suspect: boolean;
}

/** Strikes in a row after which a chunk of several records is split. */
export const SPLIT_AFTER = 2;

/**
 * What to do with the first unacked chunk of a connection that the receiver ended:
 * - `suspect`: nothing was acked before it there, so nothing is known (a child killed, a restart);
 *   its streak starts over and the next connection sends a probe ahead of it.
 * - `again`: a strike, not yet enough to split it or give it up (or no limit): send it again, after a backoff.
 * - `split`: SPLIT_AFTER strikes on a chunk of several records: send it again as two halves.
 * - `give_up`: `limit` strikes in a row on a single record.
 */
export type Verdict = 'suspect' | 'again' | 'split' | 'give_up';

/** Judge `c` (and update its strikes); `acked` = something sent before it on that connection was acked there. */
export function judge(c: Judged, acked: boolean, limit: number): Verdict {
  c.suspect = true;
  if (!acked) {
    c.strikes = 0;
    return 'suspect';
  }
  c.strikes++;
  if (c.count > 1) return c.strikes >= SPLIT_AFTER ? 'split' : 'again';
  return limit > 0 && c.strikes >= limit ? 'give_up' : 'again';
}

/** The strikes a half starts with: one short of a split; a single record counts its own. */
export function halfStrikes(count: number): number {
  return count > 1 ? SPLIT_AFTER - 1 : 0;
}

/** Cut an entries blob of `count` records into two halves: `[first, second, firstCount]`. */
export function halves(entries: Uint8Array, count: number): [Uint8Array, Uint8Array, number] {
  const n = Math.floor(count / 2);
  const at = entriesPrefixEnd(entries, n);
  return [entries.subarray(0, at), entries.subarray(at), n];
}

/** The EventTime an entry starts with, as ISO-8601, for naming a record given up; null for another time form. */
export function entryTime(entry: Uint8Array): string | null {
  // [fixarray 2, fixext 8 type 0, uint32 sec, uint32 nsec]
  if (entry.length < 11 || entry[0] !== 0x92 || entry[1] !== 0xd7 || entry[2] !== 0) return null;
  const view = new DataView(entry.buffer, entry.byteOffset, 11);
  return formatTime(new EventTime(view.getUint32(3), view.getUint32(7)));
}
