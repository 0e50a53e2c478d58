// Reads of kernel pseudo-files (/proc, /sys/fs/cgroup): synchronous, bounded, and null for
// a file that is gone or unreadable, never a throw (a process may exit between two reads).
// Synchronous on purpose: a few small procfs reads cost less than a trip through the thread pool.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/** What a read keeps at most unless told otherwise: far above any such file warden reads. */
export const MAX_TEXT_BYTES = 1024 * 1024;
/** procfs reports a size of 0, so a file is read until a read returns nothing, into a buffer of
 * SCRATCH_BYTES that grows, by at most GROW_MAX_BYTES at a time, for a bigger one. */
const SCRATCH_BYTES = 16 * 1024;
const GROW_MAX_BYTES = 64 * 1024;

/** The text of `path`, at most `maxBytes` of it; null when it cannot be opened or read. */
export function readText(path: string, maxBytes = MAX_TEXT_BYTES): string | null {
  const n = readScratch(path, maxBytes);
  return n === null ? null : scratch.toString('utf8', 0, n);
}

/** A process's command name (`/proc/<pid>/comm`, at most 256 bytes); '' when it is gone or unreadable. */
export function readComm(procRoot: string, pid: number): string {
  return readText(`${procRoot}/${pid}/comm`, 256)?.trim() ?? '';
}

/** The bytes of `path`, at most `maxBytes` of them; null when it cannot be opened or read. */
export function readBytes(path: string, maxBytes = MAX_TEXT_BYTES): Buffer | null {
  const n = readScratch(path, maxBytes);
  return n === null ? null : Buffer.from(scratch.subarray(0, n));
}

/**
 * One buffer for every read here: reads are synchronous and each is copied out (a string, a
 * Buffer) before the next, so the governor's dozen reads a second allocate nothing else. It grows
 * for a big file; a grown one is replaced by a small one at the next read.
 */
let scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

/** Reads `path` into `scratch` (at most `maxBytes`); the byte count, or null. */
function readScratch(path: string, maxBytes: number): number | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    if (scratch.length > SCRATCH_BYTES) scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
    let total = 0;
    while (total < maxBytes) {
      if (total === scratch.length) {
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes, scratch.length + Math.min(scratch.length, GROW_MAX_BYTES)));
        scratch.copy(bigger, 0, 0, total);
        scratch = bigger;
      }
      const n = readSync(fd, scratch, total, Math.min(scratch.length, maxBytes) - total, null);
      if (n === 0) break;
      total += n;
    }
    return total;
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
