// A pod's budget for the bench: one cgroup with the seed DaemonSet's limits (200m CPU, 200Mi),
// made under this process's own cgroup (so whatever limits the bench runs under still apply),
// v2 where the controllers live on the unified hierarchy, else v1 (one directory under each of the
// cpu, memory and, where it is mounted apart, cpuacct hierarchies). A process enters it through
// `enterCommand`: a tiny sh wrapper that writes its own pid to each cgroup.procs and then execs
// the program, so the program and everything it starts run inside from their first instruction.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryFigures } from '../../supervisor/cgroup/usage.js';
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
  limits: PodLimits;
  /** The cgroup.procs files a process writes its pid into to enter. */
  procsFiles: string[];
  /** `command` prefixed with the wrapper that enters the cgroup and execs it. */
  enterCommand(command: string[]): string[];
  stats(): PodStats;
  /**
   * Memory use now, bytes, from one read of the cgroup's files: less the inactive file cache (what
   * the kubelet calls the working set; the usage also counts page cache, such as fluentd's buffer
   * files, which the kernel reclaims before it OOM-kills anything), and less the clean file cache
   * (what the kernel could not reclaim before an OOM kill).
   */
  memory(): { workingSetBytes: number | null; unreclaimableBytes: number | null };
  /** CPU time of everything in the pod so far, seconds (v1 cpuacct.usage, v2 cpu.stat usage_usec); null if unreadable. */
  cpuSeconds(): number | null;
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

interface PodDirs {
  version: 'v1' | 'v2';
  cpuDir: string;
  memDir: string;
  /** Where CPU usage is read: v1 `cpuacct.usage` (its own hierarchy or co-mounted with cpu), v2 `cpu.stat`. */
  acctDir: string | null;
  /** Every directory made, in order. */
  made: string[];
}

function writeLimit(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (err) {
    throw new Error(`cgroup: cannot write ${JSON.stringify(value)} to ${file}: ${(err as Error).message}`);
  }
}

/** Makes the pod's directories and writes its limits (v2: one directory; v1: cpu, memory and cpuacct). */
function makeDirs(name: string, limits: PodLimits): PodDirs {
  const quota = Math.round((limits.cpuMillicores / 1000) * PERIOD_US);
  const made: string[] = [];
  const mk = (dir: string) => {
    mkdirSync(dir);
    made.push(dir);
    return dir;
  };
  if (unifiedHasControllers()) {
    const dir = mk(join(MOUNT, ownPath(''), name));
    writeLimit(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    writeLimit(join(dir, 'memory.max'), String(limits.memoryBytes));
    return { version: 'v2', cpuDir: dir, memDir: dir, acctDir: dir, made };
  }
  const cpuDir = mk(join(MOUNT, 'cpu', ownPath('cpu'), name));
  const memDir = mk(join(MOUNT, 'memory', ownPath('memory'), name));
  writeLimit(join(cpuDir, 'cpu.cfs_period_us'), String(PERIOD_US));
  writeLimit(join(cpuDir, 'cpu.cfs_quota_us'), String(quota));
  writeLimit(join(memDir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
  // Without its own cpuacct group a pod's processes (warden's governor too) read the CPU usage
  // of the whole hierarchy they were left in.
  let acctDir: string | null = null;
  if (existsSync(join(cpuDir, 'cpuacct.usage'))) acctDir = cpuDir;
  else if (existsSync(join(MOUNT, 'cpuacct', 'cgroup.procs'))) acctDir = mk(join(MOUNT, 'cpuacct', ownPath('cpuacct'), name));
  return { version: 'v1', cpuDir, memDir, acctDir, made };
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function field(text: string | null, key: string): number | null {
  const m = text === null ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

function enterCommand(procsFiles: string[], command: string[]): string[] {
  return [
    '/bin/sh',
    '-c',
    // Each file gets this shell's pid; exec keeps the pid, so the program is the one inside.
    'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"',
    'pod-enter',
    ...procsFiles,
    '--',
    ...command,
  ];
}

function stats({ version, cpuDir, memDir }: PodDirs): PodStats {
  const peak = readOrNull(join(memDir, version === 'v2' ? 'memory.peak' : 'memory.max_usage_in_bytes'));
  return {
    peakBytes: peak === null ? null : Number(peak.trim()),
    oomKills: field(readOrNull(join(memDir, version === 'v2' ? 'memory.events' : 'memory.oom_control')), 'oom_kill'),
    throttledPeriods: field(readOrNull(join(cpuDir, 'cpu.stat')), 'nr_throttled'),
  };
}

/** The pod's memory now, as warden's governor reads it: working set and unreclaimable bytes. */
function memoryNow({ version, memDir }: PodDirs): ReturnType<typeof memoryFigures> {
  const usage = readOrNull(join(memDir, version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes'));
  return memoryFigures(usage, readOrNull(join(memDir, 'memory.stat')), version);
}

function cpuSeconds({ version, acctDir }: PodDirs): number | null {
  if (acctDir === null) return null;
  if (version === 'v2') {
    const usec = field(readOrNull(join(acctDir, 'cpu.stat')), 'usage_usec');
    return usec === null ? null : usec / 1e6;
  }
  const ns = readOrNull(join(acctDir, 'cpuacct.usage'));
  return ns === null ? null : Number(ns.trim()) / 1e9;
}

async function removeDirs(made: string[]): Promise<void> {
  for (const dir of [...made].reverse()) {
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
}

/** Makes cgroup `name` with `limits`; throws naming the file that could not be written. */
export function createPod(name: string, limits: PodLimits = SEED_LIMITS): PodCgroup {
  const dirs = makeDirs(name, limits);
  const procsFiles = [...new Set([dirs.cpuDir, dirs.memDir, dirs.acctDir ?? dirs.cpuDir])].map((d) => join(d, 'cgroup.procs'));
  return {
    version: dirs.version,
    limits,
    procsFiles,
    enterCommand: (command) => enterCommand(procsFiles, command),
    stats: () => stats(dirs),
    memory: () => memoryNow(dirs),
    cpuSeconds: () => cpuSeconds(dirs),
    remove: () => removeDirs(dirs.made),
  };
}

/**
 * Empties the page cache (written pages are synced first), so the next pod starts on a cold
 * node, as a pod does: a page is charged to the cgroup that first reads it, so a program whose
 * pages an earlier run left cached (warden's single executable is ~100 MiB, about 66 of them
 * mapped while it runs) would otherwise not count against the pod that runs it. False where
 * /proc/sys/vm/drop_caches cannot be written (not root).
 */
export function coldPageCache(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

/**
 * Drops one file's pages from the page cache (synced first, so none is dirty), as GNU dd does with
 * `iflag=nocache count=0` (posix_fadvise DONTNEED on the whole file; no root needed, nothing else's
 * cache is touched). A program just built sits in the cache as its build wrote it, and how many of
 * its pages a process maps depends on that (a fault maps what is cached around it, on this kernel
 * in large folios): the freshly built binary mapped 62-64 MiB of itself at idle where the same
 * binary read back from disk, as a pod starts it from its image, mapped 48. Returns null, or why
 * the pages could not be dropped.
 */
export function evictFromPageCache(path: string): string | null {
  try {
    execFileSync('sync', [path], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return null;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return `${path}: ${err.stderr?.toString().trim() || err.message}`;
  }
}
