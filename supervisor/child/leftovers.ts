// What earlier children left running, found by their mark (marker.ts) wherever they went: this
// warden's children of any run, and those of the warden that ran before on the same state_dir
// (marker-file.ts), when it was killed with its child still up. None of them is this run's.
import type { Logger } from '../../core/log.js';
import type { Carrier, EnvironMemo } from '../procfs/environ.js';
import { stopProcs } from '../process-group.js';
import { markedWith, parseMarker } from './marker.js';

/** The marks this warden knows: its own token, and the one of the warden before, each with its warden's start. */
export interface Marks {
  token: string;
  /** When this warden started (clock ticks after boot): its children all started since. */
  since: number;
  /** Processes carrying `token` that started at or after `since` (clock ticks after boot) are its. */
  previous: { token: string; since: number } | null;
  /** What the scans for marked processes read of each process, so each environment is read once. */
  environs?: EnvironMemo;
}

/** Running processes (warden aside) marked by this warden or by the one before, any run of either. */
export function markedLeftovers(marks: Marks, procRoot?: string): Carrier[] {
  const prev = marks.previous;
  const tokens = prev ? [marks.token, prev.token] : [marks.token];
  const since = Math.min(marks.since, prev?.since ?? Infinity);
  return markedWith(tokens, procRoot, since, marks.environs).filter((p) => p.starttime >= (isOurs(p.value, marks) ? marks.since : prev!.since));
}

/** A WARDEN_CHILD value of this warden's, but not `current` (the running child's), or of the warden before. */
export function isLeftoverMark(value: string | null, marks: Marks, current: string | null): boolean {
  if (value === null || value === current) return false;
  const token = parseMarker(value)?.token;
  return token !== undefined && (token === marks.token || token === marks.previous?.token);
}

function isOurs(value: string, marks: Marks): boolean {
  return parseMarker(value)?.token === marks.token;
}

export interface ClearOptions {
  stopSignal: NodeJS.Signals;
  stopGraceS: number;
  killWaitMs: number;
  procRoot?: string;
  logger: Logger;
  child: string;
}

/**
 * Ends `procs` (from markedLeftovers), logging each (pid, comm). Those of this warden's runs have
 * had their stop already and are SIGKILLed; those of the warden before get the stop signal and
 * `stopGraceS` first, as its own stop would have given them (a fluentd may have a buffer to flush).
 */
export async function endLeftovers(procs: Carrier[], marks: Marks, o: ClearOptions): Promise<void> {
  if (procs.length === 0) return;
  const ours = procs.filter((p) => isOurs(p.value, marks));
  const before = procs.filter((p) => !isOurs(p.value, marks));
  const list = (ps: Carrier[]) => ps.map((p) => ({ pid: p.pid, comm: p.comm }));
  if (before.length > 0) {
    o.logger.warn({ child: o.child, processes: list(before), stop_signal: o.stopSignal, stop_grace_s: o.stopGraceS }, 'stopping what the children of the warden before left running (it ended without stopping them)');
  }
  if (ours.length > 0) o.logger.warn({ child: o.child, processes: list(ours) }, 'killing processes an earlier child left running');
  await Promise.all([
    stopProcs(before, { signal: o.stopSignal, graceMs: o.stopGraceS * 1000, killWaitMs: o.killWaitMs, procRoot: o.procRoot }),
    stopProcs(ours, { signal: 'SIGKILL', graceMs: 0, killWaitMs: o.killWaitMs, procRoot: o.procRoot }),
  ]);
}
