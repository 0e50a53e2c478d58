// msgpack headers written by hand into a buffer, byte for byte as @msgpack/msgpack writes them:
// the smallest form that fits. Each family is a table of its type bytes, so one writer serves all.
import { checkEventTime, EVENT_TIME_EXT } from './codec.js';

/** A msgpack family's type bytes: `fix` values below `fixLimit` are `fixBase + v` in one byte. */
export interface Family {
  fixLimit: number;
  fixBase: number;
  t8: number;
  t16: number;
  t32: number;
}

export const UINT: Family = { fixLimit: 0x80, fixBase: 0, t8: 0xcc, t16: 0xcd, t32: 0xce };
export const STR: Family = { fixLimit: 32, fixBase: 0xa0, t8: 0xd9, t16: 0xda, t32: 0xdb };
/** bin has no fix form. */
export const BIN: Family = { fixLimit: 0, fixBase: 0, t8: 0xc4, t16: 0xc5, t32: 0xc6 };

/** Bytes of the header of `v` (a value for UINT, a length for STR and BIN). */
export function headSize(f: Family, v: number): number {
  return v < f.fixLimit ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 5;
}

/** Write the header of `v` at `p`; returns the end. */
export function writeHead(out: Buffer, p: number, f: Family, v: number): number {
  if (v < f.fixLimit) out[p++] = f.fixBase + v;
  else if (v < 0x100) {
    out[p++] = f.t8;
    out[p++] = v;
  } else if (v < 0x10000) {
    out[p++] = f.t16;
    p = out.writeUInt16BE(v, p);
  } else {
    out[p++] = f.t32;
    p = out.writeUInt32BE(v, p);
  }
  return p;
}

/** A str of `byteLength` UTF-8 bytes at `p`; returns the end. */
export function writeStr(out: Buffer, p: number, s: string, byteLength: number): number {
  p = writeHead(out, p, STR, byteLength);
  return p + out.write(s, p, byteLength, 'utf8');
}

/** `[EventTime(sec, nsec),` ([fixarray 2, fixext8 type 0, sec, nsec]): every entry starts so. */
export const ENTRY_HEAD = 11;

/** Write the head of an entry at `p`; returns the end (p + ENTRY_HEAD). Throws for a time out of range (checkEventTime). */
export function writeEntryHead(out: Uint8Array, p: number, sec: number, nsec: number): number {
  checkEventTime(sec, nsec);
  const s = sec >>> 0;
  const n = nsec >>> 0;
  out[p] = 0x92; // fixarray of 2
  out[p + 1] = 0xd7; // fixext 8
  out[p + 2] = EVENT_TIME_EXT;
  out[p + 3] = s >>> 24;
  out[p + 4] = (s >>> 16) & 0xff;
  out[p + 5] = (s >>> 8) & 0xff;
  out[p + 6] = s & 0xff;
  out[p + 7] = n >>> 24;
  out[p + 8] = (n >>> 16) & 0xff;
  out[p + 9] = (n >>> 8) & 0xff;
  out[p + 10] = n & 0xff;
  return p + ENTRY_HEAD;
}
