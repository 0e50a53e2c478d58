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

/** What a line passed by forEachLine holds at most; a longer one is passed cut to this. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Calls `onLine` with each line of `path` (without its newline), reading SCRATCH_BYTES at a time:
 * memory stays bounded however long the file is (a node's mountinfo, /proc/net/tcp of a busy
 * network namespace), where a whole read would not be and a cut one could hide the line sought. A
 * line longer than `maxLineBytes` is passed cut to that many bytes. `onLine` returns true to stop
 * early. False when the file cannot be opened or read.
 */
export function forEachLine(path: string, onLine: (line: string) => boolean | void, maxLineBytes = MAX_LINE_BYTES): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  const chunk = Buffer.allocUnsafe(SCRATCH_BYTES);
  const line = Buffer.allocUnsafe(Math.min(maxLineBytes, SCRATCH_BYTES));
  let kept = line;
  let len = 0;
  const append = (from: number, to: number) => {
    const n = Math.min(to - from, maxLineBytes - len);
    if (n <= 0) return;
    if (len + n > kept.length) {
      const bigger = Buffer.allocUnsafe(Math.min(maxLineBytes, Math.max(len + n, kept.length * 2)));
      kept.copy(bigger, 0, 0, len);
      kept = bigger;
    }
    chunk.copy(kept, len, from, from + n);
    len += n;
  };
  try {
    for (;;) {
      const got = readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      let from = 0;
      for (let nl = chunk.indexOf(10, from); nl !== -1 && nl < got; nl = chunk.indexOf(10, from)) {
        append(from, nl);
        from = nl + 1;
        const text = kept.toString('utf8', 0, len);
        len = 0;
        if (onLine(text) === true) return true;
      }
      append(from, got);
    }
    if (len > 0) onLine(kept.toString('utf8', 0, len));
    return true;
  } catch {
    return false;
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
