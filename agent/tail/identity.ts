// A file's identity: (device, inode) plus a fingerprint of its first bytes.
//
// Fingerprint rule: sha256 (first 16 hex digits) of the first min(size, FP_BYTES) bytes, stored
// with the number of bytes it covers (`fp_len`). While a file is shorter than FP_BYTES the
// fingerprint is recomputed as it grows, until it covers FP_BYTES. A stored fingerprint matches a
// file when the file has at least `fp_len` bytes and the hash of its first `fp_len` bytes is equal:
// an inode reused for a new file (different first bytes, or shorter) does not match.
// Read synchronously, as the tail's blocks are (read.ts).
import { hash } from 'node:crypto';
import { readSync } from 'node:fs';

export const FP_BYTES = 1024;
/**
 * Bytes hashed just before a read or committed offset. The first KiB cannot tell two generations
 * apart when both start with the same banner (copytruncate regrown in one write, an inode reused
 * after an idle close); the bytes before the offset can.
 */
export const TAIL_BYTES = 256;

/** The hash of the `len` bytes ending at `at`: what was there when it was taken. */
export interface TailMark {
  at: number;
  len: number;
  hash: string;
}

export interface Fingerprint {
  fp: string;
  fpLen: number;
}

export function fingerprintOf(bytes: Uint8Array): Fingerprint {
  return { fp: hash('sha256', bytes, 'hex').slice(0, 16), fpLen: bytes.byteLength };
}

/**
 * One buffer for every identity read: reads are synchronous and a check hashes what it read before
 * the next read, so a fresh zeroed buffer per check (two per file per flush) is not needed.
 */
const scratch = Buffer.allocUnsafe(Math.max(FP_BYTES, TAIL_BYTES));

function scratchFor(len: number): Buffer {
  return len <= scratch.length ? scratch : Buffer.allocUnsafe(len);
}

/** The fingerprint of zero bytes: a file not read yet, or truncated to nothing. */
export const EMPTY_FP = fingerprintOf(new Uint8Array(0));

/** The fingerprint of the first min(size, `len`) bytes of an open file. */
export async function fingerprintFd(fd: number, len = FP_BYTES): Promise<Fingerprint> {
  const buf = scratchFor(len);
  let got = 0;
  while (got < len) {
    const bytesRead = readSync(fd, buf, got, len - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return fingerprintOf(buf.subarray(0, got));
}

/** Whether a stored fingerprint still describes the open file (see the rule above). */
export async function fingerprintMatches(fd: number, stored: Fingerprint): Promise<boolean> {
  const now = await fingerprintFd(fd, stored.fpLen);
  return now.fpLen === stored.fpLen && now.fp === stored.fp;
}

/** The tail mark of the bytes `buf[0, end)`, which sit in the file up to offset `at`. */
export function tailOf(buf: Uint8Array, end: number, at: number): TailMark | null {
  const len = Math.min(TAIL_BYTES, end);
  if (len === 0) return null;
  return { at, len, hash: fingerprintOf(buf.subarray(end - len, end)).fp };
}

/** Whether the open file still holds, before `mark.at`, the bytes the mark was taken of. */
export async function tailMatches(fd: number, mark: TailMark): Promise<boolean> {
  const buf = scratchFor(mark.len);
  let got = 0;
  while (got < mark.len) {
    const bytesRead = readSync(fd, buf, got, mark.len - got, mark.at - mark.len + got);
    if (bytesRead === 0) return false;
    got += bytesRead;
  }
  return markedBytes(buf.subarray(0, mark.len), mark);
}

/** Whether `bytes` (read from just before `mark.at`, at least `mark.len` of them) are what the mark was taken of. */
export function markedBytes(bytes: Uint8Array, mark: TailMark): boolean {
  return bytes.byteLength >= mark.len && fingerprintOf(bytes.subarray(bytes.byteLength - mark.len)).fp === mark.hash;
}

/** The map key of a file: `dev:ino`. The fingerprint is checked beside it, not part of it. */
export function inodeKey(dev: number | bigint, ino: number | bigint): string {
  return `${dev}:${ino}`;
}

/** A found file's `dev:ino` key: one carried along (a reused classification's) or made now, so a rescan makes none per unchanged file. */
export function candidateKey(c: { dev: number; ino: number; key?: string }): string {
  return c.key ?? inodeKey(c.dev, c.ino);
}

/** The identity shown in `/status`: `dev:ino:fp`. */
export function displayIdentity(dev: number | bigint, ino: number | bigint, fp: string): string {
  return `${dev}:${ino}:${fp}`;
}
