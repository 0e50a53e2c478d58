// Encoding what warden sends: entries, the PackedForward frame around them, and any other message.
// An `encoder` argument is the caller's own msgpack Encoder (its buffer is reused from call to
// call); without one a fresh Encoder is made, which suits messages sent once per connection.
import { randomBytes } from 'node:crypto';
import type { Encoder } from '@msgpack/msgpack';
import { newEncoder } from './codec.js';
import { BIN, ENTRY_HEAD, headSize, STR, UINT, writeEntryHead, writeHead, writeStr } from './heads.js';

/** msgpack `[EventTime(sec, nsec), record]`: one entry of a (Packed)Forward chunk (one record encode, one copy). */
export function encodeEntry(sec: number, nsec: number, record: Record<string, unknown>, encoder: Encoder = newEncoder()): Uint8Array {
  const body = encoder.encodeSharedRef(record);
  const out = new Uint8Array(ENTRY_HEAD + body.byteLength);
  writeEntryHead(out, 0, sec, nsec);
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
  if (!Number.isSafeInteger(count) || count < 0 || count >= 0x100000000) return encodeMessage([tag, entries, { size: count, chunk: chunkId }]);
  const tagLen = Buffer.byteLength(tag);
  const idLen = Buffer.byteLength(chunkId);
  const n = entries.byteLength;
  const size = entriesAt(tagLen, n) + n + 1 + 5 + headSize(UINT, count) + 6 + headSize(STR, idLen) + idLen;
  const out = alloc(size);
  let p = 0;
  out[p++] = 0x93; // fixarray of 3
  p = writeStr(out, p, tag, tagLen);
  p = writeHead(out, p, BIN, n);
  out.set(entries, p);
  p += n;
  out[p++] = 0x82; // fixmap of 2
  p += out.write('\xa4size', p, 'latin1');
  p = writeHead(out, p, UINT, count);
  p += out.write('\xa5chunk', p, 'latin1');
  p = writeStr(out, p, chunkId, idLen);
  return p === out.length ? out : out.subarray(0, p);
}

/** Where encodePackedForward puts the entries of `tag`: the offset of their first byte in the frame. */
export function packedEntriesOffset(tag: string, entriesLength: number): number {
  return entriesAt(Buffer.byteLength(tag), entriesLength);
}

/** The size of `[tag, bin(entries)` before the entries: fixarray 3, the tag as str, the bin header. */
function entriesAt(tagLen: number, entriesLength: number): number {
  return 1 + headSize(STR, tagLen) + tagLen + headSize(BIN, entriesLength);
}

/** Encode any message (handshake, ack, Message/Forward mode in tests) with EventTime support. */
export function encodeMessage(message: unknown, encoder: Encoder = newEncoder()): Uint8Array {
  return encoder.encode(message);
}

/** Random bytes for 256 chunk ids: one call into OpenSSL (and its getpid) per 256 chunks, not per chunk. */
const ID_POOL_BYTES = 16 * 256;
let idPool = Buffer.alloc(0);
let idAt = 0;

/** A fresh chunk id, as fluentd's out_forward makes them: base64 of 16 random bytes. */
export function newChunkId(): string {
  if (idAt + 16 > idPool.length) {
    idPool = randomBytes(ID_POOL_BYTES);
    idAt = 0;
  }
  idAt += 16;
  return idPool.toString('base64', idAt - 16, idAt);
}
