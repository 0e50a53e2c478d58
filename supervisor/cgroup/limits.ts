// The container's CPU and memory limits: the smallest along our cgroup and its ancestors (a
// limit may sit on the pod's cgroup). A file that is missing or unreadable yields null, never a
// throw: a host without limits is a normal case, not an error.
import { join } from 'node:path';
import { readText } from '../procfs/read.js';
import { ancestry, locate, type CgroupSources, type CgroupVersion } from './mounts.js';
import { parseOomKills } from './oom.js';

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

/** Values at or above this are the kernel's "no limit" (v1 reports PAGE_COUNTER_MAX, ~2^63). */
const UNLIMITED_BYTES = 2 ** 60;

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

/** The smallest limit along the ancestry; null when none of them limits; undefined values (missing files) are ignored. */
function minLimit(values: (number | null | undefined)[]): number | null {
  let best: number | null = null;
  for (const v of values) if (typeof v === 'number' && (best === null || v < best)) best = v;
  return best;
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
    limits.oomKillCount = parseOomKills(readText(join(mem1.dir, 'memory.oom_control')));
  } else if (u && readText(join(u.dir, 'memory.max')) != null) {
    limits.paths.memory = u.dir;
    const chain = ancestry(u.dir, u.mountDir);
    limits.memoryBytes = minLimit(chain.map((d) => parseMemoryValue(readText(join(d, 'memory.max')))));
    limits.memoryHighBytes = minLimit(chain.map((d) => parseMemoryValue(readText(join(d, 'memory.high')))));
    limits.oomKillCount = parseOomKills(readText(join(u.dir, 'memory.events')));
  }
  return limits;
}
