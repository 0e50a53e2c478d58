// The memory cgroup's OOM-kill counter, v2 `memory.events` and v1 `memory.oom_control`: what
// tells an OOM kill from any other SIGKILL, and what the pod's limits report.
import { readText } from '../procfs/read.js';
import { parseProcCgroup } from './mounts.js';

/**
 * The `oom_kill N` line (both files use the same key); null when absent (v1 kernels before 4.13
 * have no such line) or when there is no text.
 */
export function parseOomKills(text: string | null): number | null {
  if (text == null) return null;
  const m = /^oom_kill\s+(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Files that may hold this process's OOM-kill counter, most specific first, from the text of
 * `/proc/self/cgroup`: v2 (`0::/path`, at the root or under `unified/` on hybrid hosts) and
 * v1 (`N:memory:/path`). Inside a container's cgroup namespace the path is usually `/`.
 */
export function oomCounterFiles(procSelfCgroup: string, cgroupMount = '/sys/fs/cgroup'): string[] {
  const out: string[] = [];
  for (const m of parseProcCgroup(procSelfCgroup)) {
    const rel = m.path === '/' ? '' : m.path;
    if (m.id === 0 && m.controllers.length === 0) {
      out.push(`${cgroupMount}${rel}/memory.events`, `${cgroupMount}/unified${rel}/memory.events`);
    } else if (m.controllers.includes('memory')) {
      out.push(`${cgroupMount}/memory${rel}/memory.oom_control`);
    }
  }
  return out;
}

export interface OomCounterOptions {
  /** Directory holding memory.events (v2) or memory.oom_control (v1); default: this process's memory cgroup. */
  cgroupRoot?: string;
  /** Path of /proc/self/cgroup. */
  procSelfCgroup?: string;
}

/** Reads the counter; the file that holds it is found on the first read and kept. */
export class OomCounter {
  private file: string | null | undefined;

  constructor(private readonly opts: OomCounterOptions = {}) {}

  /** The `oom_kill` count now, or null where no counter is readable. */
  read(): number | null {
    if (this.file === undefined) {
      const root = this.opts.cgroupRoot;
      const self = root ? null : readText(this.opts.procSelfCgroup ?? '/proc/self/cgroup');
      const candidates = root ? [`${root}/memory.events`, `${root}/memory.oom_control`] : self === null ? [] : oomCounterFiles(self);
      this.file = candidates.find((f) => parseOomKills(readText(f)) !== null) ?? null;
    }
    return this.file ? parseOomKills(readText(this.file)) : null;
  }
}
