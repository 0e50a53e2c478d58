// Node-wide figures beside the budgets: memory pressure, load and the free disk of state_dir.
// They are context for the operator (in /status), not inputs of the policy, so they are refreshed
// only every `every`-th governor tick.
import { statfsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { mem as memory } from 'systeminformation/lib/memory.js';

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
    const mem = await memory();
    const [load1, load5, load15] = loadavg();
    const free = statfsFree(this.stateDir);
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

/**
 * statfs of state_dir itself: exact for the filesystem that holds it (overlay and tmpfs included),
 * and no `df` fork every refresh, as systeminformation's fsSize would cost.
 */
function statfsFree(path: string): number | null {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
