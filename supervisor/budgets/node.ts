// Node-wide figures beside the budgets: memory pressure, load and the free disk of state_dir.
// They are context for the operator (in /status), not inputs of the policy, so they are refreshed
// only every `every`-th governor tick: fsSize runs `df`, which is a fork.
import { statfsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve, sep } from 'node:path';
import si from 'systeminformation';

export interface NodeFigures {
  at: string;
  memTotalBytes: number;
  memAvailableBytes: number;
  /** 1 − available/total: 0 idle, near 1 under pressure. */
  memPressure: number;
  load1: number;
  load5: number;
  load15: number;
  /** Free bytes on the filesystem holding state_dir; null when it cannot be found. */
  stateDirFreeBytes: number | null;
}

/** The mount that holds `path`: the longest mount point that is a prefix of it. */
export function mountFor<T extends { mount: string }>(mounts: T[], path: string): T | null {
  const p = resolve(path);
  let best: T | null = null;
  for (const m of mounts) {
    const mp = m.mount.endsWith(sep) ? m.mount : m.mount + sep;
    if ((p === m.mount || p.startsWith(mp)) && (!best || m.mount.length > best.mount.length)) best = m;
  }
  return best;
}

export class NodeSampler {
  private ticks = 0;
  private latestFigures: NodeFigures | null = null;
  private inFlight = false;

  constructor(
    private readonly stateDir: string,
    private readonly every = 10,
  ) {}

  /** Called once per governor tick; refreshes in the background on the first and every `every`-th tick. */
  tick(): void {
    if (this.ticks++ % this.every !== 0 || this.inFlight) return;
    this.inFlight = true;
    this.refresh()
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
      });
  }

  latest(): NodeFigures | null {
    return this.latestFigures;
  }

  async refresh(): Promise<NodeFigures> {
    const [mem, disks] = await Promise.all([si.mem(), si.fsSize().catch(() => [])]);
    const [load1, load5, load15] = loadavg();
    let free: number | null = mountFor(disks, this.stateDir)?.available ?? null;
    if (free === null) free = statfsFree(this.stateDir);
    this.latestFigures = {
      at: new Date().toISOString(),
      memTotalBytes: mem.total,
      memAvailableBytes: mem.available,
      memPressure: mem.total > 0 ? +(1 - mem.available / mem.total).toFixed(3) : 0,
      load1,
      load5,
      load15,
      stateDirFreeBytes: free,
    };
    return this.latestFigures;
  }
}

/** df may not list the filesystem (overlay, tmpfs filtered out); statfs always can, when the directory exists. */
function statfsFree(path: string): number | null {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
