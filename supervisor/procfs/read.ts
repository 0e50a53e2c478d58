// Reads of kernel pseudo-files (/proc, /sys/fs/cgroup): synchronous, bounded, and null for
// a file that is gone or unreadable, never a throw (a process may exit between two reads).
// Synchronous on purpose: a few small procfs reads cost less than a trip through the thread pool.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/** What a read keeps at most unless told otherwise: far above any such file warden reads. */
export const MAX_TEXT_BYTES = 1024 * 1024;
/** procfs reports a size of 0, so reads go in chunks, growing from the first to the last. */
const FIRST_CHUNK = 4096;
const LAST_CHUNK = 64 * 1024;

/** The text of `path`, at most `maxBytes` of it; null when it cannot be opened or read. */
export function readText(path: string, maxBytes = MAX_TEXT_BYTES): string | null {
  return readBytes(path, maxBytes)?.toString('utf8') ?? null;
}

/** A process's command name (`/proc/<pid>/comm`, at most 256 bytes); '' when it is gone or unreadable. */
export function readComm(procRoot: string, pid: number): string {
  return readText(`${procRoot}/${pid}/comm`, 256)?.trim() ?? '';
}

/** The bytes of `path`, at most `maxBytes` of them; null when it cannot be opened or read. */
export function readBytes(path: string, maxBytes = MAX_TEXT_BYTES): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const parts: Buffer[] = [];
    let total = 0;
    let chunk = FIRST_CHUNK;
    while (total < maxBytes) {
      const buf = Buffer.allocUnsafe(Math.min(chunk, maxBytes - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      parts.push(buf.subarray(0, n));
      total += n;
      chunk = Math.min(LAST_CHUNK, chunk * 2);
    }
    return Buffer.concat(parts, total);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The entries of `dir`; none when it cannot be read. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The pid directories of `procRoot`, as numbers. */
export function listPids(procRoot: string): number[] {
  const out: number[] = [];
  for (const name of listDir(procRoot)) if (/^\d+$/.test(name)) out.push(Number(name));
  return out;
}
