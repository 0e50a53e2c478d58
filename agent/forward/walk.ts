// Walking msgpack without building values: where a receiver only needs to know how many entries a
// PackedForward blob holds and that each is well formed, skipping is an order of magnitude cheaper
// than decoding every record into objects and strings (see the sink row of `npm run bench`).
import { ForwardProtocolError } from './errors.js';

class Truncated extends Error {}

/** Position just past the value starting at `pos`; throws Truncated when it runs past `end`. */
// Long by design: one case per msgpack type byte, as the format's table lists them.
function skip(b: Uint8Array, pos: number, end: number, depth: number): number {
  if (pos >= end) throw new Truncated();
  if (depth > 64) throw new ForwardProtocolError('msgpack nested deeper than 64 levels');
  const t = b[pos]!;
  let p = pos + 1;
  let items = 0; // container elements still to skip (maps count keys and values)
  if (t <= 0x7f || t >= 0xe0) return p; // fixint
  if (t <= 0x8f) items = (t & 0x0f) * 2; // fixmap
  else if (t <= 0x9f) items = t & 0x0f; // fixarray
  else if (t <= 0xbf) p += t & 0x1f; // fixstr
  else
    switch (t) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        break;
      case 0xc4: // bin 8
      case 0xd9: // str 8
        need(p + 1, end);
        p += 1 + b[p]!;
        break;
      case 0xc5: // bin 16
      case 0xda: // str 16
        need(p + 2, end);
        p += 2 + ((b[p]! << 8) | b[p + 1]!);
        break;
      case 0xc6: // bin 32
      case 0xdb: // str 32
        need(p + 4, end);
        p += 4 + u32(b, p);
        break;
      case 0xc7: // ext 8
        need(p + 1, end);
        p += 2 + b[p]!;
        break;
      case 0xc8: // ext 16
        need(p + 2, end);
        p += 3 + ((b[p]! << 8) | b[p + 1]!);
        break;
      case 0xc9: // ext 32
        need(p + 4, end);
        p += 5 + u32(b, p);
        break;
      case 0xca: // float 32
        p += 4;
        break;
      case 0xcb: // float 64
        p += 8;
        break;
      case 0xcc: // uint 8
      case 0xd0: // int 8
        p += 1;
        break;
      case 0xcd:
      case 0xd1:
        p += 2;
        break;
      case 0xce:
      case 0xd2:
        p += 4;
        break;
      case 0xcf:
      case 0xd3:
        p += 8;
        break;
      case 0xd4: // fixext 1
        p += 2;
        break;
      case 0xd5:
        p += 3;
        break;
      case 0xd6:
        p += 5;
        break;
      case 0xd7:
        p += 9;
        break;
      case 0xd8:
        p += 17;
        break;
      case 0xdc: // array 16
        need(p + 2, end);
        items = (b[p]! << 8) | b[p + 1]!;
        p += 2;
        break;
      case 0xdd: // array 32
        need(p + 4, end);
        items = u32(b, p);
        p += 4;
        break;
      case 0xde: // map 16
        need(p + 2, end);
        items = ((b[p]! << 8) | b[p + 1]!) * 2;
        p += 2;
        break;
      case 0xdf: // map 32
        need(p + 4, end);
        items = u32(b, p) * 2;
        p += 4;
        break;
      default: // 0xc1: never used
        throw new ForwardProtocolError(`msgpack type byte 0x${t.toString(16)} at offset ${pos} is never used`);
    }
  for (let i = 0; i < items; i++) p = skip(b, p, end, depth + 1);
  if (p > end) throw new Truncated();
  return p;
}

function need(p: number, end: number): void {
  if (p > end) throw new Truncated();
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

/**
 * The number of [time, record] entries in a PackedForward blob, checking each entry's shape as
 * `checkEntry` does (a 2-array of EventTime or a non-negative number, then a map) and that every
 * value inside is complete msgpack. Errors name the entry.
 */
export function countPackedEntries(b: Uint8Array): number {
  const end = b.length;
  let p = 0;
  let n = 0;
  try {
    while (p < end) {
      if (b[p] !== 0x92) throw new ForwardProtocolError(`entry ${n}: expected [time, record] (got type byte 0x${b[p]!.toString(16)})`);
      p++;
      p = checkTimeAt(b, p, end, n);
      const m = b[p];
      if (m === undefined) throw new Truncated();
      if (!((m >= 0x80 && m <= 0x8f) || m === 0xde || m === 0xdf)) {
        throw new ForwardProtocolError(`entry ${n} record: expected a map (got type byte 0x${m.toString(16)})`);
      }
      p = skip(b, p, end, 1);
      n++;
    }
  } catch (err) {
    if (err instanceof Truncated) throw new ForwardProtocolError(`entry ${n}: truncated msgpack at the end of the entries`);
    throw err;
  }
  return n;
}

/** The byte offset just past the first `n` entries of a well-formed entries blob (where to split it). */
export function entriesPrefixEnd(b: Uint8Array, n: number): number {
  let p = 0;
  try {
    for (let i = 0; i < n; i++) p = skip(b, p, b.length, 1);
  } catch (err) {
    if (err instanceof Truncated) throw new ForwardProtocolError(`entry ${n}: fewer entries than that in ${b.length} bytes`);
    throw err;
  }
  return p;
}

/** Past an entry's time: EventTime (ext 0, 8 bytes), an unsigned int or a finite non-negative float. */
function checkTimeAt(b: Uint8Array, p: number, end: number, n: number): number {
  const t = b[p];
  if (t === undefined) throw new Truncated();
  let q: number;
  if (t === 0xd7 && b[p + 1] === 0x00) q = p + 10;
  else if (t === 0xc7 && b[p + 1] === 8 && b[p + 2] === 0x00) q = p + 11;
  else if (t <= 0x7f) q = p + 1;
  else if (t >= 0xcc && t <= 0xcf) q = p + 1 + (1 << (t - 0xcc));
  else if (t === 0xcb || t === 0xca) {
    q = p + (t === 0xcb ? 9 : 5);
    need(q, end);
    const dv = new DataView(b.buffer, b.byteOffset + p + 1, t === 0xcb ? 8 : 4);
    const v = t === 0xcb ? dv.getFloat64(0) : dv.getFloat32(0);
    if (!(Number.isFinite(v) && v >= 0)) throw new ForwardProtocolError(`entry ${n} time: expected EventTime or a non-negative number (got ${v})`);
  } else if (t >= 0xd0 && t <= 0xd3) {
    // signed ints: accepted only when non-negative (the sign bit of the first payload byte)
    q = p + 1 + (1 << (t - 0xd0));
    need(q, end);
    if (b[p + 1]! & 0x80) throw new ForwardProtocolError(`entry ${n} time: expected EventTime or a non-negative number (got a negative int)`);
  } else throw new ForwardProtocolError(`entry ${n} time: expected EventTime or a non-negative number (got type byte 0x${t.toString(16)})`);
  need(q, end);
  return q;
}

/** The largest single Forward message a receiver takes before it closes the connection. */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/**
 * Splits a byte stream into whole msgpack messages. Chunks are appended to one growing buffer
 * (amortised copying), and a message is found by skipping over it, which for PackedForward is a
 * few header reads however large the entries are. A message returned by `next()` is a view into
 * that buffer: it stays valid until the following `push()`.
 */
export class MessageFramer {
  private buf = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;

  constructor(private readonly maxMessageBytes = MAX_MESSAGE_BYTES) {}

  push(chunk: Uint8Array): void {
    if (this.start === this.end) this.start = this.end = 0;
    const live = this.end - this.start; // what next() left: part of one message
    if (live > this.maxMessageBytes) {
      throw new ForwardProtocolError(`a message larger than ${this.maxMessageBytes} bytes (${live} bytes so far without its end)`);
    }
    if (this.end + chunk.length > this.buf.length) {
      const needed = live + chunk.length;
      const target = needed <= this.buf.length ? this.buf : new Uint8Array(Math.max(needed, this.buf.length * 2));
      target.set(this.buf.subarray(this.start, this.end), 0);
      this.buf = target;
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next whole message, or null until more bytes arrive. */
  next(): Uint8Array | null {
    if (this.start === this.end) return null;
    let stop: number;
    try {
      stop = skip(this.buf, this.start, this.end, 0);
    } catch (err) {
      if (err instanceof Truncated) return null;
      throw err;
    }
    const msg = this.buf.subarray(this.start, stop);
    this.start = stop;
    return msg;
  }

  /** Bytes received that do not yet make a whole message. */
  get pending(): number {
    return this.end - this.start;
  }
}

/**
 * The decoded messages of a connection, one at a time: the next chunk is read only after the
 * consumer is done with the previous message (back-pressure, and the framer's views stay valid).
 */
export async function* readMessages(
  stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  decode: (message: Uint8Array) => unknown,
  maxMessageBytes = MAX_MESSAGE_BYTES,
): AsyncGenerator<unknown> {
  const framer = new MessageFramer(maxMessageBytes);
  for await (const chunk of stream) {
    framer.push(chunk);
    for (let m = framer.next(); m !== null; m = framer.next()) yield decode(m);
  }
}
