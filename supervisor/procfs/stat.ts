// `/proc/<pid>/stat`: the one parser, the one ProcStat, and a process's identity across pid
// reuse (pid + start time).
import { readText } from './read.js';

export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), T, … */
  state: string;
  ppid: number;
  pgrp: number;
  /** Ticks in user and kernel mode (clock ticks, see CLK_TCK); 0 when the line lacks them. */
  utime: number;
  stime: number;
  /** Ticks after boot at which the process started: with the pid, its identity. */
  starttime: number;
  /** Resident pages; 0 when the line lacks them. */
  rssPages: number;
}

/** The fields that place a process in the tree and tell it from a later one with its pid. */
export type ProcPlace = Pick<ProcStat, 'pid' | 'state' | 'ppid' | 'pgrp' | 'starttime'>;

/** A stat line is one line of 52 numbers and a name of at most 64 bytes: well under this. */
export const STAT_MAX_BYTES = 4096;

/**
 * The command name (field 2) sits in parentheses and may itself contain spaces and parentheses,
 * so the fields are counted after the last `)`: field N is `f[N - 3]`. Null without a pid, a
 * state, a parent and a group.
 */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const f = text.slice(close + 2).split(' ');
  const [state, ppid, pgrp] = [f[0], Number(f[1]), Number(f[2])];
  if (!Number.isInteger(pid) || !state || !Number.isInteger(ppid) || !Number.isInteger(pgrp)) return null;
  return { pid, state, ppid, pgrp, utime: count(f[11]), stime: count(f[12]), starttime: count(f[19]), rssPages: count(f[21]) };
}

function count(field: string | undefined): number {
  const n = Number(field);
  return Number.isInteger(n) ? n : 0;
}

/** The stat of `pid` now; null when it is gone. */
export function readStat(pid: number, procRoot = '/proc'): ProcStat | null {
  const text = readText(`${procRoot}/${pid}/stat`, STAT_MAX_BYTES);
  return text === null ? null : parseStat(text);
}

/** `pid:starttime`: tells a process from a later one that got its pid. */
export function identity(p: Pick<ProcStat, 'pid' | 'starttime'>): string {
  return `${p.pid}:${p.starttime}`;
}

/** Whether `p` still runs as the same process (pid and start time match, not a zombie). */
export function sameProcessRunning(p: Pick<ProcStat, 'pid' | 'starttime'>, procRoot = '/proc'): boolean {
  const now = readStat(p.pid, procRoot);
  return now !== null && now.starttime === p.starttime && now.state !== 'Z';
}
