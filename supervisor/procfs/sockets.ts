// Who listens on a TCP port, from /proc/net/tcp{,6} and the processes' descriptor links.
import { readlinkSync } from 'node:fs';
import { forEachLine, listDir, listPids } from './read.js';

/** The inodes of sockets listening on `port` (any address, IPv4 or IPv6). */
export function listeningInodes(port: number, procRoot = '/proc'): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    // A line per socket of the namespace (a host's with hostNetwork): read a line at a time.
    let header = true;
    forEachLine(`${procRoot}/net/${table}`, (line) => {
      if (header) return void (header = false);
      const f = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT, st 0A is LISTEN, inode is field 10
      if (f.length < 10 || f[3] !== '0A') return;
      if (parseInt(f[1]!.split(':')[1] ?? '', 16) === port && f[9] !== '0') inodes.add(f[9]!);
    });
  }
  return inodes;
}

/**
 * Pids holding a listening TCP socket on `port`: the processes whose /proc/PID/fd links to one
 * of its inodes. Processes whose fds cannot be read (other users) are not seen.
 */
export function listenerPids(port: number, procRoot = '/proc'): number[] {
  return pidsHolding(listeningInodes(port, procRoot), procRoot);
}

/** Pids holding a socket of `inodes` (reads every process's descriptor links: not cheap). */
export function pidsHolding(inodes: Set<string>, procRoot = '/proc'): number[] {
  if (inodes.size === 0) return [];
  return listPids(procRoot).filter((pid) => holdsSocket(`${procRoot}/${pid}/fd`, inodes));
}

function holdsSocket(fdDir: string, inodes: Set<string>): boolean {
  for (const fd of listDir(fdDir)) {
    let link: string;
    try {
      link = readlinkSync(`${fdDir}/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1]!)) return true;
  }
  return false;
}
