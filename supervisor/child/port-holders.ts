// Processes other than the child that listen on the Forward port (TCP only): a leftover of an
// earlier child, or a descendant that took the port, receives what warden ships. Named in /status.
import { parseForwardTo } from '../../agent/forward/protocol.js';
import { environValue } from '../procfs/environ.js';
import { listeningInodes, pidsHolding } from '../procfs/sockets.js';
import { readComm } from '../procfs/read.js';
import { readStat, sameProcessRunning, type ProcPlace } from '../procfs/stat.js';
import { MARKER_ENV } from './marker.js';

export interface PortHolder {
  pid: number;
  command: string;
  /** Started for the current child: it carries its mark, or is in its process group or tree. */
  descendant: boolean;
}

/** A holder with the WARDEN_CHILD value it carries (null: none), which /status does not show. */
export interface MarkedHolder extends PortHolder {
  marker: string | null;
}

/**
 * The answer is at most this old: who holds the port, their names, groups and marks are read again
 * once it is older (the socket tables with them), however often /status is asked.
 */
export const PORT_HOLDERS_MAX_AGE_MS = 1000;
/** The descriptors of every process are read again when the port's sockets changed, and at least this often. */
const PIDS_TTL_MS = 5000;

/** What tells the child's processes from others. */
export interface OwnChild {
  /** Its pid, the id of its process group; null when not running. */
  pid: number | null;
  /** Its descendants seen outside its group. */
  escaped: ProcPlace[];
  /** The WARDEN_CHILD value of the running child (marker.ts); null when not running. */
  marker: string | null;
}

/** One holder as last read: what is shown, and what decides anew on each call whether it is the child's. */
interface HolderFacts {
  proc: ProcPlace;
  command: string;
  marker: string | null;
}

/**
 * For /status and the watch of the port while the child starts, asked as often as probes and
 * dashboards poll. Finding a socket's owner reads every process's descriptors: done when the
 * port's listening sockets are not those of the last look (one opened or closed) and every few
 * seconds otherwise. The rest (the socket tables, which hold every connection of the network
 * namespace, and each holder's name, group and mark) is read when the last answer is older than
 * PORT_HOLDERS_MAX_AGE_MS: a new holder shows within that. Each call still drops a holder that
 * no longer runs (one stat read per holder) and decides anew whether one is the child's, by
 * what is read: a holder just killed is not listed, and the child's of a new run are its own.
 * Reads are synchronous, so calls never overlap: those that queue behind one share its answer.
 */
export class PortHolders {
  private pids: { at: number; inodes: string; procs: ProcPlace[] } | null = null;
  private answer: { at: number; where: string; facts: HolderFacts[] } | null = null;
  /** How often the holders were read (socket tables, names, marks): what the age bound saves. */
  reads = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get(forwardTo: string, procRoot: string | undefined, own: OwnChild): PortHolder[] {
    return this.marked(forwardTo, procRoot, own).map(({ pid, command, descendant }) => ({ pid, command, descendant }));
  }

  /** As get(), with the mark each holder carries. */
  marked(forwardTo: string, procRoot: string | undefined, own: OwnChild): MarkedHolder[] {
    const root = procRoot ?? '/proc';
    const port = tcpPort(forwardTo);
    if (port === null) return [];
    const where = `${port} ${root}`;
    const now = this.now();
    if (!this.answer || this.answer.where !== where || now - this.answer.at >= PORT_HOLDERS_MAX_AGE_MS) {
      this.answer = { at: now, where, facts: this.read(port, root, now) };
    }
    return this.answer.facts.filter((f) => f.proc.pid !== own.pid && sameProcessRunning(f.proc, root)).map((f) => judge(f, own));
  }

  private read(port: number, root: string, now: number): HolderFacts[] {
    this.reads += 1;
    const inodes = listeningInodes(port, root);
    const key = `${root} ${[...inodes].sort().join(' ')}`;
    if (!this.pids || this.pids.inodes !== key || now - this.pids.at >= PIDS_TTL_MS) {
      this.pids = { at: now, inodes: key, procs: pidsHolding(inodes, root).map((pid) => readStat(pid, root)).filter((p) => p !== null) };
    }
    return facts(this.pids.procs, root);
  }
}

/**
 * The holders read afresh (readiness must not go by a view a second old). A listener whose process
 * is not visible (another PID namespace, descriptors warden may not read) is not named: it may be
 * the child's own under another user.
 */
export function findPortHolders(forwardTo: string, procRoot: string, own: OwnChild): MarkedHolder[] {
  const port = tcpPort(forwardTo);
  if (port === null) return [];
  const procs = pidsHolding(listeningInodes(port, procRoot), procRoot).map((pid) => readStat(pid, procRoot)).filter((p) => p !== null);
  return facts(procs, procRoot)
    .filter((f) => f.proc.pid !== own.pid)
    .map((f) => judge(f, own));
}

function tcpPort(forwardTo: string): number | null {
  try {
    const addr = parseForwardTo(forwardTo);
    return addr.kind === 'tcp' ? addr.port : null;
  } catch {
    return null;
  }
}

/** Name (comm), place and mark of each of `procs` still running as itself; warden is never one. */
function facts(procs: ProcPlace[], procRoot: string): HolderFacts[] {
  const out: HolderFacts[] = [];
  for (const { pid, starttime } of procs) {
    if (pid === process.pid) continue;
    const proc = readStat(pid, procRoot);
    if (!proc || proc.starttime !== starttime || proc.state === 'Z') continue;
    // The name only (comm), not the arguments: those may hold expanded secrets.
    const command = readComm(procRoot, pid);
    out.push({ proc, command, marker: environValue(pid, MARKER_ENV, procRoot) });
  }
  return out;
}

/** A holder as the child is now: not the child itself, and its descendant by its mark, its group or the tree walk. */
function judge(f: HolderFacts, own: OwnChild): MarkedHolder {
  const { pid, pgrp } = f.proc;
  const inTree = own.pid !== null && (pgrp === own.pid || own.escaped.some((p) => p.pid === pid));
  return { pid, command: f.command, descendant: (own.marker !== null && f.marker === own.marker) || inTree, marker: f.marker };
}
