// The batch buffer entries are written into directly (agent/forward/record.ts writes records).
import { ENTRY_HEAD, headSize, STR, writeEntryHead, writeHead } from './heads.js';

/** Buffer's UTF-8 writer without Buffer#write's argument juggling (present on every Node Buffer). */
type Utf8Writable = Buffer & { utf8Write(s: string, offset: number, length: number): number };

/**
 * A growable buffer that entries are msgpack-encoded into directly, one per batch: no per-entry
 * array, no concatenation. Strings go in with Buffer#write (UTF-8); they must be well formed (no
 * lone surrogates), where Buffer#write and @msgpack/msgpack agree byte for byte (wellFormed in
 * agent/parse/record.ts, used by agent/forward/record.ts, sees to that).
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
    this.length = writeEntryHead(this.bytes, this.length, sec, nsec);
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
    const guess = headSize(STR, s.length);
    const start = this.length + guess;
    const n = (this.bytes as Utf8Writable).utf8Write(s, start, this.bytes.length - start);
    const hdr = headSize(STR, n);
    if (hdr !== guess) this.bytes.copyWithin(this.length + hdr, start, start + n);
    this.length = writeHead(this.bytes, this.length, STR, n) + n;
  }

  /** The header of a str of `byteLength` bytes, with room reserved for them: the caller writes them at `length`. */
  strHead(byteLength: number): void {
    this.reserve(5 + byteLength);
    this.length = writeHead(this.bytes, this.length, STR, byteLength);
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
