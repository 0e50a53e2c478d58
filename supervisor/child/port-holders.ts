// Processes other than the child that listen on the Forward port (TCP only): a leftover of an
// earlier child, or a descendant that took the port, receives what warden ships. Named in /status.
import { parseForwardTo } from '../../agent/forward/protocol.js';
import { environValue } from '../procfs/environ.js';
import { listeningInodes, pidsHolding } from '../procfs/sockets.js';
import { readText } from '../procfs/read.js';
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

/** Who listens is read afresh whenever the listening sockets change, and at least this often. */
const PORT_HOLDERS_TTL_MS = 5000;
/** Whether the listening sockets changed is looked at no more often than this. */
const SOCKETS_RECHECK_MS = 1000;

/** What the finder needs to know of the child now. */
export interface OwnChild {
  /** Its pid, the id of its process group; null when not running. */
  pid: number | null;
  /** Its descendants seen outside its group. */
  escaped: ProcPlace[];
  /** The WARDEN_CHILD value of the running child (marker.ts); null when not running. */
  marker: string | null;
}

/**
 * For /status, asked as often as probes and dashboards poll it. Finding a socket's owner reads
 * every process's descriptors: done when the port's listening sockets are not those of the last
 * look (one opened or closed; the socket tables, which hold every connection of the network
 * namespace, are read at most once a second) and every few seconds otherwise. The rest is read on
 * every call, a few small reads per holder, so the answer is never stale about what matters: a
 * holder that is gone is not listed, and whether one is the child's is decided anew (a
 * descendant is one from the first look).
 */
export class PortHolders {
  private cached: { at: number; checkedAt: number; inodes: string; procs: ProcPlace[] } | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get(forwardTo: string, procRoot: string | undefined, own: OwnChild): PortHolder[] {
    return this.marked(forwardTo, procRoot, own).map(({ pid, command, descendant }) => ({ pid, command, descendant }));
  }

  /** As get(), with the mark each holder carries. */
  marked(forwardTo: string, procRoot: string | undefined, own: OwnChild): MarkedHolder[] {
    const root = procRoot ?? '/proc';
    const port = tcpPort(forwardTo);
    if (port === null) return [];
    const now = this.now();
    if (!this.cached || now - this.cached.checkedAt >= SOCKETS_RECHECK_MS) {
      const inodes = listeningInodes(port, root);
      const key = [...inodes].sort().join(' ');
      if (!this.cached || this.cached.inodes !== key || now - this.cached.at >= PORT_HOLDERS_TTL_MS) {
        const procs = pidsHolding(inodes, root).map((pid) => readStat(pid, root)).filter((p) => p !== null);
        this.cached = { at: now, checkedAt: now, inodes: key, procs };
      } else this.cached.checkedAt = now;
    }
    const running = this.cached.procs.filter((p) => sameProcessRunning(p, root));
    return describe(running.map((p) => p.pid), root, own);
  }
}

/**
 * A process outside the child's tree listening on the Forward port, read afresh (readiness must
 * not go by a view seconds old); null when there is none that warden can see. A listener whose
 * process is not visible (another PID namespace, descriptors warden may not read) is not named:
 * it may be the child's own under another user.
 */
export function foreignPortHolder(forwardTo: string, procRoot: string, own: OwnChild): MarkedHolder | null {
  return findPortHolders(forwardTo, procRoot, own).find((h) => !h.descendant) ?? null;
}

export function findPortHolders(forwardTo: string, procRoot: string, own: OwnChild): MarkedHolder[] {
  const port = tcpPort(forwardTo);
  if (port === null) return [];
  return describe(pidsHolding(listeningInodes(port, procRoot), procRoot), procRoot, own);
}

function tcpPort(forwardTo: string): number | null {
  try {
    const addr = parseForwardTo(forwardTo);
    return addr.kind === 'tcp' ? addr.port : null;
  } catch {
    return null;
  }
}

function describe(pids: number[], procRoot: string, own: OwnChild): MarkedHolder[] {
  return pids
    .filter((pid) => pid !== own.pid && pid !== process.pid)
    .map((pid) => {
      // The name only (comm), not the arguments: those may hold expanded secrets.
      const command = readText(`${procRoot}/${pid}/comm`, 256)?.trim() ?? '';
      const pgrp = readStat(pid, procRoot)?.pgrp ?? -1;
      const marker = environValue(pid, MARKER_ENV, procRoot);
      const inTree = own.pid !== null && (pgrp === own.pid || own.escaped.some((p) => p.pid === pid));
      return { pid, command, descendant: (own.marker !== null && marker === own.marker) || inTree, marker };
    });
}
