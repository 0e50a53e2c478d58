// The memory cgroup's OOM-kill counter, read before and after a run to tell an OOM kill from
// any other SIGKILL.
import { readFileSync } from 'node:fs';
import { oomCounterFiles, parseOomKills } from '../exit-classify.js';

export class OomCounter {
  private file: string | null | undefined;

  /** `cgroupRoot`: the directory holding memory.events (v2) or memory.oom_control (v1); default: this process's memory cgroup. */
  constructor(private readonly cgroupRoot: string | undefined) {}

  /** The cgroup's `oom_kill` count, or null where no counter is readable. */
  read(): number | null {
    if (this.file === undefined) {
      const root = this.cgroupRoot;
      let candidates: string[];
      if (root) candidates = [`${root}/memory.events`, `${root}/memory.oom_control`];
      else {
        try {
          candidates = oomCounterFiles(readFileSync('/proc/self/cgroup', 'utf8'));
        } catch {
          candidates = [];
        }
      }
      this.file = candidates.find((f) => readCounter(f) !== null) ?? null;
    }
    return this.file ? readCounter(this.file) : null;
  }
}

function readCounter(file: string): number | null {
  try {
    return parseOomKills(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}
