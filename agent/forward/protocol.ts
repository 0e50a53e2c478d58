// The Fluentd Forward protocol v1, as far as warden speaks it: EventTime, entries, the four event
// modes, acks and the shared-key handshake (HELO / PING / PONG).
// Spec: https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1
import { createHash, randomBytes } from 'node:crypto';
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { AddressError, parseForwardAddress } from '../../config/address.js';

/** Forward's EventTime: msgpack ext type 0, 8 bytes — uint32 BE seconds, uint32 BE nanoseconds. */
export class EventTime {
  constructor(
    readonly sec: number,
    readonly nsec: number,
  ) {}

  /** Seconds since the epoch as a float (loses nanosecond precision; for display and tests). */
  toNumber(): number {
    return this.sec + this.nsec / 1e9;
  }
}

export const EVENT_TIME_EXT = 0;

export const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: EVENT_TIME_EXT,
  encode(input: unknown) {
    if (!(input instanceof EventTime)) return null;
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, input.sec >>> 0);
    view.setUint32(4, input.nsec >>> 0);
    return out;
  },
  decode(data: Uint8Array) {
    if (data.byteLength !== 8) throw new ForwardProtocolError(`EventTime ext must be 8 bytes (got ${data.byteLength})`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new EventTime(view.getUint32(0), view.getUint32(4));
  },
});

/** Thrown when bytes from a peer are valid msgpack but not a Forward message this side accepts. */
export class ForwardProtocolError extends Error {
  override name = 'ForwardProtocolError';
}

/** Thrown when `forward.to` (or a sink's `--listen`) is not tcp://HOST:PORT or unix:///PATH. */
export class ForwardAddressError extends Error {
  override name = 'ForwardAddressError';
}

export function newEncoder(): Encoder {
  return new Encoder({ extensionCodec, ignoreUndefined: true });
}

/** A decoder for entries and other complete buffers: str values come back as JS strings. */
export function newDecoder(): Decoder {
  return new Decoder({ extensionCodec });
}

/**
 * The decoder for a connection's message stream (one per stream: it keeps the state of a partly
 * read message). str values come back as raw bytes, because fluentd's out_forward sends
 * PackedForward entries as str 32 and a nonce or salt may be binary; UTF-8 decoding would corrupt
 * both. Map keys stay strings. Use `text` / `textify` on the fields that are text.
 */
export function newStreamDecoder(): Decoder {
  return new Decoder({ extensionCodec, rawStrings: true });
}

const utf8 = new TextDecoder();

/** A str field read by the stream decoder (bytes) as a string; other values pass unchanged. */
export function text(v: unknown): unknown {
  return v instanceof Uint8Array ? utf8.decode(v) : v;
}

/** Deeply turn raw str values (bytes) back into strings: records and options of Message/Forward mode. */
export function textify(v: unknown): unknown {
  if (v instanceof Uint8Array) return utf8.decode(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = textify(v[i]);
    return v;
  }
  if (typeof v === 'object' && v !== null && !(v instanceof EventTime)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = textify(o[k]);
  }
  return v;
}

// One shared encoder for entries: encodeSharedRef reuses its buffer, and the 11-byte entry head
// ([fixarray 2, fixext8 type 0, sec, nsec]) is fixed, so an entry costs one record encode and one copy.
const entryEncoder = newEncoder();
const ENTRY_HEAD = 11;

/** msgpack `[EventTime(sec, nsec), record]`: one entry of a (Packed)Forward chunk. */
export function encodeEntry(sec: number, nsec: number, record: Record<string, unknown>): Uint8Array {
  const body = entryEncoder.encodeSharedRef(record);
  const out = new Uint8Array(ENTRY_HEAD + body.byteLength);
  out[0] = 0x92; // fixarray of 2
  out[1] = 0xd7; // fixext 8
  out[2] = EVENT_TIME_EXT;
  const s = sec >>> 0;
  const n = nsec >>> 0;
  out[3] = s >>> 24;
  out[4] = (s >>> 16) & 0xff;
  out[5] = (s >>> 8) & 0xff;
  out[6] = s & 0xff;
  out[7] = n >>> 24;
  out[8] = (n >>> 16) & 0xff;
  out[9] = (n >>> 8) & 0xff;
  out[10] = n & 0xff;
  out.set(body, ENTRY_HEAD);
  return out;
}

/** Concatenate encoded entries into the `entries` stream a PackedForward message carries. */
export function concatEntries(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

const frameEncoder = newEncoder();

/**
 * PackedForward: `[tag, bin(entries), {size, chunk}]`; the receiver answers `{ack: chunk}`.
 * Framed by hand into one buffer of the exact size (one copy of `entries`); the bytes are those
 * @msgpack/msgpack writes for the same array (test/unit/forward/protocol.test.ts compares them).
 */
export function encodePackedForward(
  tag: string,
  entries: Uint8Array,
  count: number,
  chunkId: string,
  /** Where the frame goes: a buffer of at least `size` bytes (a pool's); the frame is its start. */
  alloc: (size: number) => Buffer = Buffer.allocUnsafe,
): Uint8Array {
  if (!Number.isSafeInteger(count) || count < 0 || count >= 0x100000000) return frameEncoder.encode([tag, entries, { size: count, chunk: chunkId }]);
  const tagLen = Buffer.byteLength(tag);
  const idLen = Buffer.byteLength(chunkId);
  const n = entries.byteLength;
  const size = 1 + strHeaderSize(tagLen) + tagLen + (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n + 1 + 5 + uintSize(count) + 6 + strHeaderSize(idLen) + idLen;
  const out = alloc(size);
  let p = 0;
  out[p++] = 0x93; // fixarray of 3
  p = writeStr(out, p, tag, tagLen);
  if (n < 0x100) {
    out[p++] = 0xc4;
    out[p++] = n;
  } else if (n < 0x10000) {
    out[p++] = 0xc5;
    p = out.writeUInt16BE(n, p);
  } else {
    out[p++] = 0xc6;
    p = out.writeUInt32BE(n, p);
  }
  out.set(entries, p);
  p += n;
  out[p++] = 0x82; // fixmap of 2
  p += out.write('\xa4size', p, 'latin1');
  p = writeUint(out, p, count);
  p += out.write('\xa5chunk', p, 'latin1');
  p = writeStr(out, p, chunkId, idLen);
  return p === out.length ? out : out.subarray(0, p);
}

function strHeaderSize(byteLength: number): number {
  return byteLength < 32 ? 1 : byteLength < 0x100 ? 2 : byteLength < 0x10000 ? 3 : 5;
}

function uintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 5;
}

/** msgpack unsigned int (the smallest that fits, as @msgpack/msgpack picks) at `p`; returns the end. */
function writeUint(out: Buffer, p: number, v: number): number {
  if (v < 0x80) out[p++] = v;
  else if (v < 0x100) {
    out[p++] = 0xcc;
    out[p++] = v;
  } else if (v < 0x10000) {
    out[p++] = 0xcd;
    p = out.writeUInt16BE(v, p);
  } else {
    out[p++] = 0xce;
    p = out.writeUInt32BE(v, p);
  }
  return p;
}

/** msgpack str header (the smallest that fits, as @msgpack/msgpack picks) at `p`; returns the end. */
function writeStrHeader(out: Buffer, p: number, byteLength: number): number {
  if (byteLength < 32) out[p++] = 0xa0 + byteLength;
  else if (byteLength < 0x100) {
    out[p++] = 0xd9;
    out[p++] = byteLength;
  } else if (byteLength < 0x10000) {
    out[p++] = 0xda;
    p = out.writeUInt16BE(byteLength, p);
  } else {
    out[p++] = 0xdb;
    p = out.writeUInt32BE(byteLength, p);
  }
  return p;
}

function writeStr(out: Buffer, p: number, s: string, byteLength: number): number {
  p = writeStrHeader(out, p, byteLength);
  return p + out.write(s, p, byteLength, 'utf8');
}

/** Buffer's UTF-8 writer without Buffer#write's argument juggling (present on every Node Buffer). */
type Utf8Writable = Buffer & { utf8Write(s: string, offset: number, length: number): number };

/**
 * A growable buffer that entries are msgpack-encoded into directly, one per batch: no per-entry
 * array, no concatenation. Strings go in with Buffer#write (UTF-8); they must be well formed (no
 * lone surrogates), where Buffer#write and @msgpack/msgpack agree byte for byte (buildRecord and
 * writeRecordEntry in agent/parse/record.ts see to that).
 */
export class EntryBuffer {
  bytes: Buffer;
  length = 0;

  constructor(
    capacity = 16 * 1024,
    /** Doubling stops here (the batch limit plus a margin): a full batch does not hold twice its size. */
    private readonly growLimit = Infinity,
  ) {
    this.bytes = Buffer.allocUnsafeSlow(capacity);
  }

  /** Make room for `n` more bytes (doubling up to growLimit: amortised O(1) per byte). */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(need, Math.min(this.bytes.length * 2, this.growLimit)));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  /** The written entries (a view: valid until the next write or reset). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }

  /** `[EventTime(sec, nsec),` — the 11-byte head of an entry; the record follows. */
  entryHead(sec: number, nsec: number): void {
    this.reserve(ENTRY_HEAD);
    const b = this.bytes;
    let p = this.length;
    b[p++] = 0x92; // fixarray of 2
    b[p++] = 0xd7; // fixext 8
    b[p++] = EVENT_TIME_EXT;
    b.writeUInt32BE(sec >>> 0, p);
    b.writeUInt32BE(nsec >>> 0, p + 4);
    this.length = p + 8;
  }

  /** A fixmap header (records have fewer than 16 keys). */
  fixmap(n: number): void {
    this.reserve(1);
    this.bytes[this.length++] = 0x80 | n;
  }

  /** A map header of any size, as @msgpack/msgpack writes it. */
  map(n: number): void {
    if (n < 16) return this.fixmap(n);
    this.reserve(5);
    if (n < 0x10000) {
      this.bytes[this.length] = 0xde;
      this.length = this.bytes.writeUInt16BE(n, this.length + 1);
    } else {
      this.bytes[this.length] = 0xdf;
      this.length = this.bytes.writeUInt32BE(n, this.length + 1);
    }
  }

  /** A well-formed string as msgpack str. */
  str(s: string): void {
    this.reserve(5 + s.length * 3);
    // Guess the header from the UTF-16 length (exact for ASCII); move the text when it was wrong.
    const guess = strHeaderSize(s.length);
    const start = this.length + guess;
    const n = (this.bytes as Utf8Writable).utf8Write(s, start, this.bytes.length - start);
    const hdr = strHeaderSize(n);
    if (hdr !== guess) this.bytes.copyWithin(this.length + hdr, start, start + n);
    this.length = writeStrHeader(this.bytes, this.length, n) + n;
  }

  /** The header of a str of `byteLength` bytes, with room reserved for them: the caller writes them at `length`. */
  strHead(byteLength: number): void {
    this.reserve(5 + byteLength);
    this.length = writeStrHeader(this.bytes, this.length, byteLength);
  }

  /** Bytes already msgpack-encoded (a precomputed key, or key/value pairs). */
  raw(b: Uint8Array): void {
    const n = b.byteLength;
    this.reserve(n);
    // TypedArray#set costs more than a loop for the few bytes of a key.
    if (n <= 16) {
      const out = this.bytes;
      let p = this.length;
      for (let i = 0; i < n; i++) out[p++] = b[i]!;
    } else this.bytes.set(b, this.length);
    this.length += n;
  }

  true(): void {
    this.reserve(1);
    this.bytes[this.length++] = 0xc3;
  }
}

/** Encode any message (handshake, ack, Message/Forward mode in tests) with EventTime support. */
export function encodeMessage(message: unknown): Uint8Array {
  return frameEncoder.encode(message);
}

/** A fresh chunk id, as fluentd's out_forward makes them: base64 of 16 random bytes. */
export function newChunkId(): string {
  return randomBytes(16).toString('base64');
}

export type Entry = [EventTime | number, Record<string, unknown>];

/** Decode a PackedForward `entries` stream (already gunzipped) into [time, record] pairs. */
export function decodeEntries(buf: Uint8Array): Entry[] {
  const out: Entry[] = [];
  for (const e of newDecoder().decodeMulti(buf)) out.push(checkEntry(e, out.length));
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

// ---- handshake ------------------------------------------------------------------------------

export type Bytes = Uint8Array | string;

/**
 * The shared-key digest both sides compute: `sha512_hex(salt + hostname + nonce + shared_key)`.
 * Salt and nonce are hashed as the raw bytes they were sent as (fluentd sends the nonce as bin).
 */
export function sharedKeyDigest(salt: Bytes, hostname: string, nonce: Bytes, sharedKey: string): string {
  return createHash('sha512').update(salt).update(hostname).update(nonce).update(sharedKey).digest('hex');
}

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

/** The client's salt: a hex string of random bytes, as fluentd's out_forward sends it. */
export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

export interface Helo {
  nonce: Bytes;
  /** Salt for user/password auth; empty when the server does not ask for it. */
  auth: Bytes;
  keepalive: boolean;
}

export function heloMessage(nonce: Uint8Array, keepalive = true): unknown[] {
  return ['HELO', { nonce, auth: '', keepalive }];
}

export function parseHelo(m: unknown): Helo | null {
  if (!Array.isArray(m) || text(m[0]) !== 'HELO') return null;
  const o = m[1] as Record<string, unknown> | undefined;
  if (m.length !== 2 || typeof o !== 'object' || o === null || !isBytes(o.nonce)) {
    throw new ForwardProtocolError(`HELO: expected ['HELO', {nonce, auth, keepalive}] (got ${describe(o)})`);
  }
  return { nonce: o.nonce, auth: isBytes(o.auth) ? o.auth : '', keepalive: o.keepalive !== false };
}

export function pingMessage(selfHostname: string, salt: Bytes, nonce: Bytes, sharedKey: string): unknown[] {
  return ['PING', selfHostname, salt, sharedKeyDigest(salt, selfHostname, nonce, sharedKey), '', ''];
}

export interface Ping {
  hostname: string;
  salt: Bytes;
  digest: string;
}

export function parsePing(m: unknown): Ping {
  if (Array.isArray(m)) m = [text(m[0]), text(m[1]), m[2], text(m[3]), text(m[4]), text(m[5])];
  if (!Array.isArray(m) || m.length !== 6 || m[0] !== 'PING' || typeof m[1] !== 'string' || !isBytes(m[2]) || typeof m[3] !== 'string') {
    throw new ForwardProtocolError(`expected PING [PING, hostname, salt, digest, username, password] (got ${describe(Array.isArray(m) ? m[0] : m)})`);
  }
  return { hostname: m[1] as string, salt: m[2] as Bytes, digest: m[3] as string };
}

export function pongMessage(ok: boolean, reason: string, serverHostname: string, salt: Bytes, nonce: Bytes, sharedKey: string): unknown[] {
  return ['PONG', ok, reason, serverHostname, ok ? sharedKeyDigest(salt, serverHostname, nonce, sharedKey) : ''];
}

export interface Pong {
  ok: boolean;
  reason: string;
  hostname: string;
  digest: string;
}

export function parsePong(m: unknown): Pong {
  if (Array.isArray(m)) m = m.map(text);
  if (!Array.isArray(m) || m.length !== 5 || m[0] !== 'PONG' || typeof m[1] !== 'boolean' || typeof m[2] !== 'string' || typeof m[3] !== 'string' || typeof m[4] !== 'string') {
    throw new ForwardProtocolError(`expected PONG [PONG, ok, reason, hostname, digest] (got ${describe(Array.isArray(m) ? m[0] : m)})`);
  }
  const a = m as [string, boolean, string, string, string];
  return { ok: a[1], reason: a[2], hostname: a[3], digest: a[4] };
}

function isBytes(v: unknown): v is Bytes {
  return typeof v === 'string' || v instanceof Uint8Array;
}

// ---- addresses ------------------------------------------------------------------------------

export type ForwardAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** `tcp://HOST:PORT` (HOST may be `[v6]`, PORT 0 where a sink listens) or `unix:///absolute/path.sock`. */
export function parseForwardTo(s: string, key = 'forward address'): ForwardAddress {
  try {
    return parseForwardAddress(s, { key, anyPort: true });
  } catch (err) {
    throw err instanceof AddressError ? new ForwardAddressError(err.message) : err;
  }
}

export function formatForwardAddress(a: ForwardAddress): string {
  if (a.kind === 'unix') return `unix://${a.path}`;
  return `tcp://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
