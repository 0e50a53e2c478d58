// CPU priorities: the child's processes run at warden's original nice value, warden's main thread
// `agent_nice` steps above the child's.
import { getPriority, setPriority } from 'node:os';
import type { Logger } from '../../core/log.js';

/**
 * The child gets the upper hand on CPU: under one quota CFS splits the pod's time by weight,
 * and warden's work is worth nothing unless the child ships it. Linux nice values are per
 * thread, and a process inherits its spawner's, so warden cannot renice itself before the
 * first spawn (the child would inherit it) and a restarted child inherits warden's nicer value.
 * So: the child's processes are given back warden's original nice value (lowering a nice
 * value needs CAP_SYS_NICE; without it the child keeps what it inherited), and warden's main
 * thread — where its reading and encoding run — goes `agent_nice` steps above the child's
 * (at most 19). Without CAP_SYS_NICE each restart moves both up by agent_nice until 19.
 */
export class PriorityKeeper {
  /** warden's nice value when it was constructed: what the child is given back after inheriting a nicer one. */
  private readonly baseNice: number | null = niceOf(0);
  private niceFailed = false;

  constructor(
    private readonly agentNice: number,
    private readonly logger: Logger,
  ) {}

  /** Gives `pid`, a process of the child, warden's original nice value, and keeps warden below it. */
  give(pid: number): void {
    const delta = this.agentNice;
    if (delta <= 0 || this.baseNice === null) return;
    const childNice = niceOf(pid);
    if (childNice === null) return;
    let effective = childNice;
    if (childNice > this.baseNice) {
      try {
        setPriority(pid, this.baseNice);
        effective = this.baseNice;
      } catch (err) {
        if (!this.niceFailed) this.logger.info({ pid, nice: childNice, err: (err as Error).message }, 'cannot give the child back its nice value (no CAP_SYS_NICE); raising warden\'s instead');
        this.niceFailed = true;
      }
    }
    const want = Math.min(19, effective + delta);
    const mine = niceOf(0);
    if (mine !== null && mine < want) {
      try {
        setPriority(0, want);
        this.logger.info({ agent_nice: want, child_nice: effective }, 'warden runs at a lower CPU priority than its child');
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'cannot lower warden\'s own CPU priority');
      }
    }
  }
}

/** A process's nice value (0 = the calling thread); null when it is gone. */
export function niceOf(pid: number): number | null {
  try {
    return getPriority(pid);
  } catch {
    return null;
  }
}
