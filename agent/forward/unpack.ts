// msgpack values as a receiver reads them: every map is data, whatever its keys. fluentd is Ruby,
// where `__proto__`, `constructor` or `prototype` are keys like any other; @msgpack/msgpack refuses
// `__proto__` before any option can intervene (3.1.3; later versions refuse the other two as
// well), so a receiver built on it would close the connection on a record fluentd takes. Here a
// `__proto__` key becomes an own property, as JSON.parse makes it, and no key is ever assigned
// through a prototype. Errors are ForwardProtocolError and name the offset.
import { Buffer } from 'node:buffer';
import { ExtData } from '@msgpack/msgpack';
import { EVENT_TIME_EXT, EventTime } from './codec.js';
import { ForwardProtocolError } from './errors.js';

/** As deep as the message framer (walk.ts) lets a value nest. */
const MAX_DEPTH = 64;

export interface UnpackOptions {
  /**
   * str values as raw bytes (views into the input), as `newStreamDecoder` gives them: fluentd
   * sends entries as str 32, and a nonce or salt may be binary. Map keys are always strings.
   */
  rawStrings?: boolean;
}

/** The one value `b` holds, whole. */
export function unpack(b: Uint8Array, opts: UnpackOptions = {}): unknown {
  const r = new Reader(b, opts.rawStrings === true);
  const v = r.value(0);
  if (r.pos !== b.length) throw new ForwardProtocolError(`msgpack: ${b.length - r.pos} bytes after the value at offset ${r.pos}`);
  return v;
}

/** Every value of a concatenated stream (a PackedForward `entries` blob), in order. */
export function* unpackMulti(b: Uint8Array, opts: UnpackOptions = {}): Generator<unknown> {
  const r = new Reader(b, opts.rawStrings === true);
  while (r.pos < b.length) yield r.value(0);
}

/**
 * A map key as text, the way a Ruby receiver's JSON output names it: strings as they are, bin as
 * UTF-8, numbers and booleans as written, nil as "", anything else as its JSON.
 */
function keyText(k: unknown): string {
  if (typeof k === 'string') return k;
  if (k instanceof Uint8Array) return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('utf8');
  if (k === null) return '';
  if (typeof k === 'number' || typeof k === 'boolean') return String(k);
  return JSON.stringify(k) ?? '';
}

/**
 * Short keys decoded once per buffer: the records of an entries stream repeat the same few (`log`,
 * `stream`, `host`), and comparing a few bytes costs less than making a string of them each time.
 */
class KeyCache {
  private static readonly MAX_LEN = 16;
  private static readonly PER_LEN = 16;
  /** By key length: the bytes (views into the buffer being read) and their text. */
  private readonly byLen: Array<Array<{ bytes: Uint8Array; text: string }> | undefined> = [];

  text(b: Buffer, p: number, n: number): string {
    if (n > KeyCache.MAX_LEN) return b.toString('utf8', p, p + n);
    const list = (this.byLen[n] ??= []);
    next: for (const e of list) {
      for (let i = 0; i < n; i++) if (e.bytes[i] !== b[p + i]) continue next;
      return e.text;
    }
    const text = b.toString('utf8', p, p + n);
    if (list.length >= KeyCache.PER_LEN) list.pop();
    list.unshift({ bytes: b.subarray(p, p + n), text });
    return text;
  }
}

class Reader {
  pos = 0;
  private readonly view: DataView;
  private readonly buf: Buffer;
  private readonly keys = new KeyCache();

  constructor(
    private readonly b: Uint8Array,
    private readonly raw: boolean,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  value(depth: number, key = false): unknown {
    if (depth > MAX_DEPTH) throw new ForwardProtocolError(`msgpack nested deeper than ${MAX_DEPTH} levels at offset ${this.pos}`);
    const at = this.pos;
    const t = this.u8();
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t <= 0x8f) return this.map(t & 0x0f, depth);
    if (t <= 0x9f) return this.array(t & 0x0f, depth);
    if (t <= 0xbf) return this.str(t & 0x1f, key);
    // Each family's type bytes run in the order of the width of its value or length field: 1, 2,
    // then 4 bytes (array and map: 2, then 4); fixext's payload is 1, 2, 4, 8 or 16 bytes.
    if (t >= 0xcc && t <= 0xce) return this.uint(t - 0xcc);
    if (t >= 0xd0 && t <= 0xd2) return this.int(t - 0xd0);
    if (t >= 0xc4 && t <= 0xc6) return this.bytes(this.uint(t - 0xc4));
    if (t >= 0xc7 && t <= 0xc9) return this.ext(this.uint(t - 0xc7));
    if (t >= 0xd4 && t <= 0xd8) return this.ext(1 << (t - 0xd4));
    if (t >= 0xd9 && t <= 0xdb) return this.str(this.uint(t - 0xd9), key);
    if (t === 0xdc || t === 0xdd) return this.array(this.uint(t - 0xdb), depth);
    if (t === 0xde || t === 0xdf) return this.map(this.uint(t - 0xdd), depth);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca:
        return this.view.getFloat32(this.take(4));
      case 0xcb:
        return this.view.getFloat64(this.take(8));
      case 0xcf:
        return this.int64(false);
      case 0xd3:
        return this.int64(true);
      default: // 0xc1: never used
        throw new ForwardProtocolError(`msgpack type byte 0x${t.toString(16)} at offset ${at} is never used`);
    }
  }

  private map(n: number, depth: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = keyText(this.value(depth + 1, true));
      const v = this.value(depth + 1);
      // `o[k] = v` with k "__proto__" would set the prototype: define the key as data instead.
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
      else o[k] = v;
    }
    return o;
  }

  private array(n: number, depth: number): unknown[] {
    // No preallocation from a length the peer wrote: a header claiming 2^32 items costs nothing.
    const a: unknown[] = [];
    for (let i = 0; i < n; i++) a.push(this.value(depth + 1));
    return a;
  }

  private str(n: number, key: boolean): string | Uint8Array {
    const p = this.take(n);
    if (key) return this.keys.text(this.buf, p, n);
    return this.raw ? this.b.subarray(p, p + n) : this.buf.toString('utf8', p, p + n);
  }

  private bytes(n: number): Uint8Array {
    const p = this.take(n);
    return this.b.subarray(p, p + n);
  }

  private ext(n: number): unknown {
    const type = this.view.getInt8(this.take(1));
    const p = this.take(n);
    const data = this.b.subarray(p, p + n);
    if (type !== EVENT_TIME_EXT) return new ExtData(type, data);
    if (n !== 8) throw new ForwardProtocolError(`EventTime ext must be 8 bytes (got ${n})`);
    return new EventTime(this.view.getUint32(p), this.view.getUint32(p + 4));
  }

  /** A big-endian unsigned int of 1, 2 or 4 bytes (`width` 0, 1 or 2): a uint value or a length field. */
  private uint(width: number): number {
    return width === 0 ? this.u8() : width === 1 ? this.u16() : this.u32();
  }

  /** A big-endian signed int of 1, 2 or 4 bytes (`width` 0, 1 or 2). */
  private int(width: number): number {
    return width === 0 ? this.view.getInt8(this.take(1)) : width === 1 ? this.view.getInt16(this.take(2)) : this.view.getInt32(this.take(4));
  }

  /** A 64-bit int as the nearest number (exact up to 2^53, as @msgpack/msgpack reads it). */
  private int64(signed: boolean): number {
    const p = this.take(8);
    return (signed ? this.view.getInt32(p) : this.view.getUint32(p)) * 0x1_0000_0000 + this.view.getUint32(p + 4);
  }

  private u8(): number {
    return this.b[this.take(1)]!;
  }

  private u16(): number {
    return this.view.getUint16(this.take(2));
  }

  private u32(): number {
    return this.view.getUint32(this.take(4));
  }

  /** Claim `n` bytes at the current position; returns where they start. */
  private take(n: number): number {
    const p = this.pos;
    if (p + n > this.b.length) throw new ForwardProtocolError(`msgpack truncated: ${n} bytes needed at offset ${p}, ${this.b.length - p} left`);
    this.pos = p + n;
    return p;
  }
}
