// Which processes carry a variable in their environment: /proc/PID/environ, the environment a
// process was started with (what it set itself later is not there), read bounded. The kernel lets
// a process's own user and root read it; warden reads no process of another user unless it runs
// as root.
import { statSync } from 'node:fs';
import { listPids, readBytes, readComm } from './read.js';
import { readStat, type ProcPlace } from './stat.js';

/** An environment is cut at this size when read; a variable past it is not seen. */
export const ENVIRON_MAX_BYTES = 1024 * 1024;

export interface Carrier extends ProcPlace {
  /** The variable's value. */
  value: string;
  /** The command name (comm): never the arguments, which may hold secrets. */
  comm: string;
}

/**
 * The value of `name` in the environment `pid` was started with (the first entry of that name,
 * as getenv finds it); null when it has none, or the environment cannot be read.
 */
export function environValue(pid: number, name: string, procRoot = '/proc', maxBytes = ENVIRON_MAX_BYTES): string | null {
  const env = readBytes(`${procRoot}/${pid}/environ`, maxBytes);
  if (!env) return null;
  const key = Buffer.from(`${name}=`);
  for (let at = env.indexOf(key); at !== -1; at = env.indexOf(key, at + 1)) {
    if (at > 0 && env[at - 1] !== 0) continue; // inside another entry's value
    const end = env.indexOf(0, at);
    return env.toString('utf8', at + key.length, end === -1 ? env.length : end);
  }
  return null;
}

/** A value longer than this is not remembered (read again each scan): no value warden looks for is near it. */
const MEMO_VALUE_MAX_CHARS = 256;

/**
 * What findCarriers found in each process's environment (by pid and start time) at its last scan.
 * The environment a process was started with does not change, so each process is read once, not at
 * every child exit and start; each scan keeps only the processes it saw, so this holds at most one
 * entry per running process.
 */
export class EnvironMemo {
  private last = new Map<string, string | null>();
  private next = new Map<string, string | null>();
  /** Environments read so far, not answered from what the last scan saw. */
  reads = 0;

  /** Processes remembered. */
  get size(): number {
    return this.last.size;
  }

  /** The value for `key` (a variable of one process, by pid and start time): read by `read` unless the last scan saw it. */
  value(key: string, read: () => string | null): string | null {
    let v = this.last.get(key);
    if (v === undefined) {
      v = read();
      this.reads += 1;
    }
    if (v === null || v.length <= MEMO_VALUE_MAX_CHARS) this.next.set(key, v);
    return v;
  }

  /** A scan ended: only what it saw is kept. */
  scanned(): void {
    this.last = this.next;
    this.next = new Map();
  }
}

/**
 * Every running process but warden itself, started at or after `since` (clock ticks after boot),
 * whose environment sets `name` to a value `accept` takes, in pid order. Only the environments of
 * processes started since are read: those of a long-running host's daemons never are (reading one
 * takes the process's memory map lock). A process's identity (pid, start time) is read before and
 * after its environment, and one whose pid was reused in between is left out: what is returned is
 * only ever the process that carried the value. Without root, only processes of warden's own
 * effective uid are read. With `memo` (kept from one scan to the next), an environment is read
 * once per process, not once per scan.
 */
export function findCarriers(name: string, accept: (value: string) => boolean, procRoot = '/proc', since = 0, memo = new EnvironMemo()): Carrier[] {
  const uid = process.geteuid?.() ?? 0;
  const out: Carrier[] = [];
  for (const pid of listPids(procRoot)) {
    if (pid === process.pid || !ownedBy(pid, uid, procRoot)) continue;
    const before = readStat(pid, procRoot);
    if (!before || before.state === 'Z' || before.starttime < since) continue;
    const value = memo.value(`${procRoot}\0${name}\0${pid}:${before.starttime}`, () => environValue(pid, name, procRoot));
    if (value === null || !accept(value)) continue;
    const after = readStat(pid, procRoot);
    if (!after || after.starttime !== before.starttime) continue;
    const comm = readComm(procRoot, pid);
    out.push({ pid, state: after.state, ppid: after.ppid, pgrp: after.pgrp, starttime: after.starttime, value, comm });
  }
  memo.scanned();
  return out;
}

/** Root reads every process; another user only its own (the owner of /proc/PID is the process's euid). */
function ownedBy(pid: number, uid: number, procRoot: string): boolean {
  if (uid === 0) return true;
  try {
    return statSync(`${procRoot}/${pid}`).uid === uid;
  } catch {
    return false;
  }
}
