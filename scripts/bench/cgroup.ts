// A pod's budget for the bench: one cgroup with the seed DaemonSet's limits (200m CPU, 200Mi),
// made under this process's own cgroup (so whatever limits the bench runs under still apply),
// v2 where the controllers live on the unified hierarchy, else v1 (one directory under the cpu and
// one under the memory hierarchy). A process enters it through `enterCommand`: a tiny sh wrapper
// that writes its own pid to each cgroup.procs and then execs the program, so the program and
// everything it starts run inside from their first instruction.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../lib/util.js';

const MOUNT = '/sys/fs/cgroup';

export interface PodLimits {
  cpuMillicores: number;
  memoryBytes: number;
}

export const SEED_LIMITS: PodLimits = { cpuMillicores: 200, memoryBytes: 200 * 1048576 };
const PERIOD_US = 100_000;

export interface PodStats {
  /** Peak memory use of the cgroup (v1 memory.max_usage_in_bytes, v2 memory.peak), bytes. */
  peakBytes: number | null;
  /** OOM kills inside the cgroup (v1 memory.oom_control, v2 memory.events `oom_kill`). */
  oomKills: number | null;
  /** CFS periods in which the cgroup was throttled (cpu.stat nr_throttled). */
  throttledPeriods: number | null;
}

export interface PodCgroup {
  version: 'v1' | 'v2';
  /** The cgroup.procs files a process writes its pid into to enter. */
  procsFiles: string[];
  /** `command` prefixed with the wrapper that enters the cgroup and execs it. */
  enterCommand(command: string[]): string[];
  stats(): PodStats;
  /**
   * Memory use now less the inactive file cache (what the kubelet calls the working set), bytes:
   * the cgroup's usage also counts page cache (fluentd's buffer files), which the kernel reclaims
   * before it OOM-kills anything.
   */
  workingSet(): number | null;
  /** Removes the cgroup directories (once its processes are gone; retried while busy). */
  remove(): Promise<void>;
}

/** Why pods cannot run here, or null when they can. */
export function podUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root: making a cgroup needs root';
  if (!existsSync('/bin/sh')) return 'no /bin/sh for the cgroup wrapper';
  if (unifiedHasControllers()) return null;
  if (existsSync(join(MOUNT, 'cpu', 'cgroup.procs')) && existsSync(join(MOUNT, 'memory', 'cgroup.procs'))) return null;
  return `no cgroup v2 with cpu+memory nor v1 cpu and memory hierarchies under ${MOUNT}`;
}

function unifiedHasControllers(): boolean {
  try {
    const c = readFileSync(join(MOUNT, 'cgroup.controllers'), 'utf8').split(/\s+/);
    return c.includes('cpu') && c.includes('memory');
  } catch {
    return false;
  }
}

/** This process's cgroup path for a v1 controller (`memory`), or for v2 (`''`). */
function ownPath(controller: string): string {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [id, ctrls, path] = line.split(':');
    if (path === undefined) continue;
    if (controller === '' ? id === '0' : ctrls!.split(',').includes(controller)) return path;
  }
  return '/';
}

/** Makes cgroup `name` with `limits`; throws naming the file that could not be written. */
export function createPod(name: string, limits: PodLimits = SEED_LIMITS): PodCgroup {
  const quota = Math.round((limits.cpuMillicores / 1000) * PERIOD_US);
  const write = (file: string, value: string) => {
    try {
      writeFileSync(file, value);
    } catch (err) {
      throw new Error(`cgroup: cannot write ${JSON.stringify(value)} to ${file}: ${(err as Error).message}`);
    }
  };
  const dirs: string[] = [];
  const mk = (dir: string) => {
    mkdirSync(dir);
    dirs.push(dir);
    return dir;
  };
  let version: 'v1' | 'v2';
  let cpuDir: string;
  let memDir: string;
  if (unifiedHasControllers()) {
    version = 'v2';
    const dir = mk(join(MOUNT, ownPath(''), name));
    write(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    write(join(dir, 'memory.max'), String(limits.memoryBytes));
    cpuDir = memDir = dir;
  } else {
    version = 'v1';
    cpuDir = mk(join(MOUNT, 'cpu', ownPath('cpu'), name));
    memDir = mk(join(MOUNT, 'memory', ownPath('memory'), name));
    write(join(cpuDir, 'cpu.cfs_period_us'), String(PERIOD_US));
    write(join(cpuDir, 'cpu.cfs_quota_us'), String(quota));
    write(join(memDir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
  }
  const procsFiles = [...new Set([cpuDir, memDir])].map((d) => join(d, 'cgroup.procs'));
  const read = (file: string): string | null => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return null;
    }
  };
  const field = (text: string | null, key: string): number | null => {
    const m = text === null ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  return {
    version,
    procsFiles,
    enterCommand: (command) => [
      '/bin/sh',
      '-c',
      // Each file gets this shell's pid; exec keeps the pid, so the program is the one inside.
      'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"',
      'pod-enter',
      ...procsFiles,
      '--',
      ...command,
    ],
    stats: () => {
      const peak = read(join(memDir, version === 'v2' ? 'memory.peak' : 'memory.max_usage_in_bytes'));
      return {
        peakBytes: peak === null ? null : Number(peak.trim()),
        oomKills: field(read(join(memDir, version === 'v2' ? 'memory.events' : 'memory.oom_control')), 'oom_kill'),
        throttledPeriods: field(read(join(cpuDir, 'cpu.stat')), 'nr_throttled'),
      };
    },
    workingSet: () => {
      const usage = read(join(memDir, version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes'));
      const stat = read(join(memDir, 'memory.stat'));
      const inactive = field(stat, version === 'v2' ? 'inactive_file' : 'total_inactive_file');
      return usage === null || inactive === null ? null : Number(usage.trim()) - inactive;
    },
    remove: async () => {
      for (const dir of dirs.reverse()) {
        for (let i = 0; ; i++) {
          try {
            rmdirSync(dir);
            break;
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ENOENT') break;
            if (code !== 'EBUSY' || i >= 100) throw new Error(`cgroup: cannot remove ${dir}: ${(err as Error).message}`);
            await sleep(50); // its last process is still exiting
          }
        }
      }
    },
  };
}
