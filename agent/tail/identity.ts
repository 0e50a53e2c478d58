// A file's identity: (device, inode) plus a fingerprint of its first bytes.
//
// Fingerprint rule: sha256 (first 16 hex digits) of the first min(size, FP_BYTES) bytes, stored
// with the number of bytes it covers (`fp_len`). While a file is shorter than FP_BYTES the
// fingerprint is recomputed as it grows, until it covers FP_BYTES. A stored fingerprint matches a
// file when the file has at least `fp_len` bytes and the hash of its first `fp_len` bytes is equal:
// an inode reused for a new file (different first bytes, or shorter) does not match.
import { createHash } from 'node:crypto';
import { read } from 'node:fs';
import { promisify } from 'node:util';

export const FP_BYTES = 1024;

const preadAsync = promisify(read);

export interface Fingerprint {
  fp: string;
  fpLen: number;
}

export function fingerprintOf(bytes: Uint8Array): Fingerprint {
  return { fp: createHash('sha256').update(bytes).digest('hex').slice(0, 16), fpLen: bytes.byteLength };
}

/** The fingerprint of the first min(size, `len`) bytes of an open file. */
export async function fingerprintFd(fd: number, len = FP_BYTES): Promise<Fingerprint> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await preadAsync(fd, buf, got, len - got, got);
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

/** The map key of a file: `dev:ino`. The fingerprint is checked beside it, not part of it. */
export function inodeKey(dev: number | bigint, ino: number | bigint): string {
  return `${dev}:${ino}`;
}

/** The identity shown in `/status`: `dev:ino:fp`. */
export function displayIdentity(dev: number | bigint, ino: number | bigint, fp: string): string {
  return `${dev}:${ino}:${fp}`;
}
