// The container's CPU and memory limits, read from cgroup v2, v1 or a hybrid of both.
// Everything is located through /proc/self/cgroup and /proc/self/mountinfo, never by guessing
// mount points. A file that is missing or unreadable yields null, never a throw: a host without
// limits is a normal case, not an error.
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

export type CgroupVersion = 'v1' | 'v2' | 'hybrid' | 'none';

export interface Limits {
  version: CgroupVersion;
  /** Effective CPU limit (minimum over our cgroup and its ancestors); null = unlimited. */
  cpuMillicores: number | null;
  /** Effective memory limit in bytes; null = unlimited. */
  memoryBytes: number | null;
  /** v2 `memory.high` (reclaim-and-throttle threshold); null = unset/unlimited or v1. */
  memoryHighBytes: number | null;
  /** `oom_kill` count of our memory cgroup (v2 memory.events, v1 memory.oom_control). */
  oomKillCount: number | null;
  paths: {
    /** Directory holding the cpu controller files for our cgroup. */
    cpu: string | null;
    /** Directory holding the memory controller files for our cgroup. */
    memory: string | null;
    /** Directory holding v1 `cpuacct.usage` (v2 keeps CPU usage in `cpu.stat` of paths.cpu). */
    cpuacct: string | null;
    /** Our cgroup directory on the unified (v2) mount, when there is one. */
    unified: string | null;
  };
}

export interface CgroupSources {
  /** Path of /proc/self/cgroup (before the root prefix). */
  procSelfCgroup?: string;
  /** Path of /proc/self/mountinfo (before the root prefix). */
  mountinfo?: string;
  /** Filesystem root prefix, for fixture trees; default ''. */
  root?: string;
}

export interface CgroupMembership {
  /** 0 for the v2 line. */
  id: number;
  controllers: string[];
  path: string;
}

export interface CgroupMount {
  /** The cgroup path that is the root of this mount (4th field of mountinfo). */
  root: string;
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  /** v1: the controllers in the super options (e.g. cpu, cpuacct); v2: []. */
  controllers: string[];
}

/** Values at or above this are the kernel's "no limit" (v1 reports PAGE_COUNTER_MAX, ~2^63). */
const UNLIMITED_BYTES = 2 ** 60;

/** `/proc/self/cgroup`: `0::/path` (v2) and `N:cpu,cpuacct:/path` (v1). Malformed lines are skipped. */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({ id: Number(m[1]), controllers: m[2] ? m[2].split(',') : [], path: m[3] || '/' });
  }
  return out;
}

/** The cgroup and cgroup2 mounts of `/proc/self/mountinfo`. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fsType = right[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    if (left.length < 5) continue;
    const superOpts = (right[2] ?? '').split(',');
    const known = new Set(['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'nsdelegate', 'memory_recursiveprot', 'clone_children', 'xattr', 'favordynmods']);
    out.push({
      root: unescapeMount(left[3]),
      mountPoint: unescapeMount(left[4]),
      fsType,
      controllers: fsType === 'cgroup' ? superOpts.filter((o) => !known.has(o) && !o.startsWith('release_agent=')) : [],
    });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** v2 `cpu.max`: `max 100000` → null; `20000 100000` → 200 millicores. */
export function parseCpuMax(text: string | null): number | null | undefined {
  if (text == null) return undefined;
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === 'max') return null;
  return quotaToMillicores(Number(quota), Number(period ?? 100000));
}

/** v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`; a quota of -1 is unlimited. */
export function parseCfsQuota(quotaText: string | null, periodText: string | null): number | null | undefined {
  if (quotaText == null) return undefined;
  const quota = Number(quotaText.trim());
  if (quota < 0) return null;
  return quotaToMillicores(quota, Number((periodText ?? '100000').trim()));
}

function quotaToMillicores(quota: number, period: number): number | null | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || period <= 0) return undefined;
  return Math.round((quota / period) * 1000);
}

/** `memory.max` / `memory.high` / `memory.limit_in_bytes`: `max` or a huge value → null. */
export function parseMemoryValue(text: string | null): number | null | undefined {
  if (text == null) return undefined;
  const t = text.trim();
  if (t === 'max') return null;
  const n = Number(t);
  if (!Number.isFinite(n) || t === '') return undefined;
  return n >= UNLIMITED_BYTES ? null : n;
}

/** `oom_kill N` out of v2 memory.events or v1 memory.oom_control (absent on old kernels). */
export function parseOomKill(text: string | null): number | null {
  if (text == null) return null;
  const m = /^oom_kill\s+(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Our cgroup's directory under a mount. With a cgroup namespace (or Docker's v1 bind of the
 * container's own cgroup) the mount root is already our cgroup: the path in /proc/self/cgroup is
 * `/`, or equal to the mount root, or — when the namespace root is above us — points outside it
 * (`/../..`). All of these fall back to the mount point itself.
 */
function cgroupDir(mount: CgroupMount, cgroupPath: string, root: string): string {
  let rel: string | null = null;
  if (mount.root === '/') rel = cgroupPath;
  else if (cgroupPath === mount.root || cgroupPath.startsWith(mount.root + '/')) rel = cgroupPath.slice(mount.root.length) || '/';
  if (rel !== null && !rel.startsWith('/..')) {
    const dir = trimSlash(join(root, mount.mountPoint, posix.normalize(rel)));
    if (isDir(dir)) return dir;
  }
  return trimSlash(join(root, mount.mountPoint));
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** Directories from `dir` up to and including the mount point: limits may sit on a parent (the pod). */
function ancestry(dir: string, mountDir: string): string[] {
  const out = [dir];
  let d = dir;
  while (d.length > mountDir.length && d.startsWith(mountDir)) {
    d = dirname(d);
    if (d.length < mountDir.length) break;
    out.push(d);
  }
  return out;
}

/** The smallest limit along the ancestry; null when none of them limits; undefined values (missing files) are ignored. */
function minLimit(values: (number | null | undefined)[]): number | null {
  let best: number | null = null;
  for (const v of values) if (typeof v === 'number' && (best === null || v < best)) best = v;
  return best;
}

interface Located {
  version: CgroupVersion;
  v1: Map<string, { dir: string; mountDir: string }>;
  unified: { dir: string; mountDir: string; path: string } | null;
}

function locate(opts: CgroupSources): Located {
  const root = opts.root ?? '';
  const cgText = readText(join(root, opts.procSelfCgroup ?? '/proc/self/cgroup'));
  const miText = readText(join(root, opts.mountinfo ?? '/proc/self/mountinfo'));
  const memberships = cgText ? parseProcCgroup(cgText) : [];
  const mounts = miText ? parseMountinfo(miText) : [];
  const v1 = new Map<string, { dir: string; mountDir: string }>();
  for (const controller of ['cpu', 'cpuacct', 'memory']) {
    const member = memberships.find((m) => m.id !== 0 && m.controllers.includes(controller));
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.controllers.includes(controller));
    if (member && mount) v1.set(controller, { dir: cgroupDir(mount, member.path, root), mountDir: trimSlash(join(root, mount.mountPoint)) });
  }
  let unified: Located['unified'] = null;
  const v2member = memberships.find((m) => m.id === 0 && m.controllers.length === 0);
  const v2mount = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2member && v2mount) {
    unified = { dir: cgroupDir(v2mount, v2member.path, root), mountDir: trimSlash(join(root, v2mount.mountPoint)), path: v2member.path };
  }
  const hasV1 = memberships.some((m) => m.id !== 0) && mounts.some((m) => m.fsType === 'cgroup');
  const version: CgroupVersion = hasV1 && unified ? 'hybrid' : hasV1 ? 'v1' : unified ? 'v2' : 'none';
  return { version, v1, unified };
}

/** Reads the container's limits. Never throws: unknown values are null. */
export function readContainerLimits(opts: CgroupSources = {}): Limits {
  const loc = locate(opts);
  const limits: Limits = {
    version: loc.version,
    cpuMillicores: null,
    memoryBytes: null,
    memoryHighBytes: null,
    oomKillCount: null,
    paths: { cpu: null, memory: null, cpuacct: loc.v1.get('cpuacct')?.dir ?? null, unified: loc.unified?.dir ?? null },
  };

  // A v1 controller wins where it is mounted: on a hybrid host the unified mount carries no cpu/memory.
  const cpu1 = loc.v1.get('cpu');
  const u = loc.unified;
  if (cpu1) {
    limits.paths.cpu = cpu1.dir;
    limits.cpuMillicores = minLimit(
      ancestry(cpu1.dir, cpu1.mountDir).map((d) => parseCfsQuota(readText(join(d, 'cpu.cfs_quota_us')), readText(join(d, 'cpu.cfs_period_us')))),
    );
  } else if (u && readText(join(u.dir, 'cpu.max')) != null) {
    limits.paths.cpu = u.dir;
    limits.cpuMillicores = minLimit(ancestry(u.dir, u.mountDir).map((d) => parseCpuMax(readText(join(d, 'cpu.max')))));
  }

  const mem1 = loc.v1.get('memory');
  if (mem1) {
    limits.paths.memory = mem1.dir;
    limits.memoryBytes = minLimit(ancestry(mem1.dir, mem1.mountDir).map((d) => parseMemoryValue(readText(join(d, 'memory.limit_in_bytes')))));
    limits.oomKillCount = parseOomKill(readText(join(mem1.dir, 'memory.oom_control')));
  } else if (u && readText(join(u.dir, 'memory.max')) != null) {
    limits.paths.memory = u.dir;
    const chain = ancestry(u.dir, u.mountDir);
    limits.memoryBytes = minLimit(chain.map((d) => parseMemoryValue(readText(join(d, 'memory.max')))));
    limits.memoryHighBytes = minLimit(chain.map((d) => parseMemoryValue(readText(join(d, 'memory.high')))));
    limits.oomKillCount = parseOomKill(readText(join(u.dir, 'memory.events')));
  }
  return limits;
}

/** `memory.stat` (v1 and v2): `name value` per line. */
export function parseMemoryStat(text: string | null): Map<string, number> {
  const out = new Map<string, number>();
  if (text == null) return out;
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const n = Number(line.slice(sp + 1));
    if (Number.isFinite(n)) out.set(line.slice(0, sp), n);
  }
  return out;
}

/**
 * The kubelet's working set: the cgroup's usage less its inactive file pages, floored at 0.
 * v2: memory.current − memory.stat `inactive_file`; v1: memory.usage_in_bytes − memory.stat
 * `total_inactive_file` (the hierarchical figure, as the kubelet uses; `inactive_file` when absent).
 */
export function workingSet(usageText: string | null, statText: string | null, version: 'v1' | 'v2'): number | null {
  if (usageText == null) return null;
  const usage = Number(usageText.trim());
  if (!Number.isFinite(usage) || usageText.trim() === '') return null;
  const stat = parseMemoryStat(statText);
  const inactive = version === 'v2' ? stat.get('inactive_file') : (stat.get('total_inactive_file') ?? stat.get('inactive_file'));
  return Math.max(0, usage - (inactive ?? 0));
}

export interface PodUsage {
  /** Working set of our memory cgroup, bytes; null without a readable memory controller. */
  workingSetBytes: number | null;
  /** Cumulative CPU time of our cgroup, µs (v2 cpu.stat usage_usec, v1 cpuacct.usage); null when unreadable. */
  cpuUsageMicros: number | null;
}

/**
 * The pod's usage now, from the directories readContainerLimits found. Five small reads; never
 * throws. v2 is told from v1 by which usage file exists, so a hybrid host reads whichever holds
 * the memory controller.
 */
export function readPodUsage(paths: Limits['paths']): PodUsage {
  let workingSetBytes: number | null = null;
  if (paths.memory) {
    const current = readText(join(paths.memory, 'memory.current'));
    workingSetBytes =
      current != null
        ? workingSet(current, readText(join(paths.memory, 'memory.stat')), 'v2')
        : workingSet(readText(join(paths.memory, 'memory.usage_in_bytes')), readText(join(paths.memory, 'memory.stat')), 'v1');
  }
  let cpuUsageMicros: number | null = null;
  const acct = paths.cpuacct ?? paths.cpu;
  const v1 = acct ? readText(join(acct, 'cpuacct.usage')) : null;
  if (v1 != null && Number.isFinite(Number(v1.trim()))) cpuUsageMicros = Math.round(Number(v1.trim()) / 1000);
  else if (paths.cpu) {
    const usec = parseMemoryStat(readText(join(paths.cpu, 'cpu.stat'))).get('usage_usec');
    if (usec !== undefined) cpuUsageMicros = usec;
  }
  return { workingSetBytes, cpuUsageMicros };
}

export type Delegation = { ok: true; path: string; subtreeEnabled: boolean } | { ok: false; reason: string };

/**
 * Whether the child can get its own cgroup v2 with the cpu and memory controllers: a unified
 * mount, our cgroup directory writable (systemd `Delegate=yes`, or root outside a read-only
 * container mount), cpu and memory available in `cgroup.controllers`, and `cgroup.subtree_control`
 * either already enabling them or writable so that we can.
 */
export function delegatedCgroupV2(opts: CgroupSources = {}): Delegation {
  const loc = locate(opts);
  if (!loc.unified) return { ok: false, reason: 'no cgroup v2 mount in mountinfo' };
  const dir = loc.unified.dir;
  const available = (readText(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/);
  const missing = ['cpu', 'memory'].filter((c) => !available.includes(c));
  if (missing.length) return { ok: false, reason: `${join(dir, 'cgroup.controllers')} lacks ${missing.join(' and ')}` };
  try {
    accessSync(dir, fsConstants.W_OK);
  } catch {
    return { ok: false, reason: `${dir} is not writable` };
  }
  const subtreeFile = join(dir, 'cgroup.subtree_control');
  const enabled = (readText(subtreeFile) ?? '').trim().split(/\s+/);
  const subtreeEnabled = enabled.includes('cpu') && enabled.includes('memory');
  if (!subtreeEnabled) {
    try {
      accessSync(subtreeFile, fsConstants.W_OK);
    } catch {
      return { ok: false, reason: `${subtreeFile} does not enable cpu and memory and is not writable` };
    }
  }
  return { ok: true, path: dir, subtreeEnabled };
}
