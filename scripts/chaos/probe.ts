// warden's footprint read from /proc: resident memory and open descriptors, with those on files
// under the log tree counted apart (a rotated file stays open until it is drained).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { sleep } from '../lib/util.js';

export interface Sample {
  t: number;
  instance: number;
  rssKiB: number;
  fds: number;
  /** Of fds, those open on files under the log inputs. */
  logFds: number;
}

export function procStatusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Open descriptors of pid, and how many of them are on files under logRoot. */
export function fdCount(pid: number, logRoot: string): { fds: number; logFds: number } {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return { fds: 0, logFds: 0 };
  }
  let logFds = 0;
  for (const n of names) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${n}`).startsWith(logRoot + '/')) logFds++;
    } catch {}
  }
  return { fds: names.length, logFds };
}

export function sample(pid: number, t: number, instance: number, logRoot: string): Sample {
  return { t, instance, rssKiB: procStatusKiB(pid, 'VmRSS'), ...fdCount(pid, logRoot) };
}

/**
 * Log-file descriptors of `pid()` once they settle to at most `live` (rotated files drained and
 * released within a few housekeeping ticks), or what it holds after `timeoutMs`.
 */
export async function settledLogFds(pid: () => number | undefined, logRoot: string, live: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = pid();
    const held = p ? fdCount(p, logRoot).logFds : 0;
    if (held <= live || Date.now() > deadline) return held;
    await sleep(500);
  }
}
