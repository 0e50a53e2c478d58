// Processes other than the child that listen on the Forward port (TCP only): a leftover of an
// earlier child, or a descendant that took the port, receives what warden ships. Named in /status.
import { parseForwardTo } from '../../agent/forward/protocol.js';
import { listenerPids } from '../procfs/sockets.js';
import { readText } from '../procfs/read.js';
import { readStat, type ProcPlace as ProcStat } from '../procfs/stat.js';

export interface PortHolder {
  pid: number;
  command: string;
  descendant: boolean;
}

const PORT_HOLDERS_TTL_MS = 5000;

/** What the finder needs to know of the child now: its pid (null when not running) and its escaped descendants. */
export interface OwnChild {
  pid: number | null;
  escaped: ProcStat[];
}

/**
 * Finding a socket's owner reads every process's descriptors: done at most every few seconds,
 * however often /status is asked (probes and dashboards poll it).
 */
export class PortHolders {
  private cached: { at: number; value: PortHolder[] } | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get(forwardTo: string, procRoot: string | undefined, own: OwnChild): PortHolder[] {
    const now = this.now();
    if (this.cached && now - this.cached.at < PORT_HOLDERS_TTL_MS) return this.cached.value;
    this.cached = { at: now, value: findPortHolders(forwardTo, procRoot ?? '/proc', own) };
    return this.cached.value;
  }
}

/**
 * A process outside the child's tree listening on the Forward port, read afresh (readiness must
 * not go by a view seconds old); null when there is none that warden can see. A listener whose
 * process is not visible (another PID namespace, descriptors warden may not read) is not named:
 * it may be the child's own under another user.
 */
export function foreignPortHolder(forwardTo: string, procRoot: string, own: OwnChild): PortHolder | null {
  return findPortHolders(forwardTo, procRoot, own).find((h) => !h.descendant) ?? null;
}

export function findPortHolders(forwardTo: string, procRoot: string, own: OwnChild): PortHolder[] {
  let addr;
  try {
    addr = parseForwardTo(forwardTo);
  } catch {
    return [];
  }
  if (addr.kind !== 'tcp') return [];
  return listenerPids(addr.port, procRoot)
    .filter((pid) => pid !== own.pid && pid !== process.pid)
    .map((pid) => {
      let command = '';
      let pgrp = -1;
      try {
        // The name only (comm), not the arguments: those may hold expanded secrets.
        command = readText(`${procRoot}/${pid}/comm`, 256)?.trim() ?? '';
        pgrp = readStat(pid, procRoot)?.pgrp ?? -1;
      } catch {
        // gone meanwhile
      }
      const descendant = own.pid !== null && (pgrp === own.pid || own.escaped.some((p) => p.pid === pid));
      return { pid, command, descendant };
    });
}
