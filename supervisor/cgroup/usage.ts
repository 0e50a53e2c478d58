// What the pod uses now, from its cgroup: the kubelet's working set, what the kernel could not
// reclaim before an OOM kill, and cumulative CPU time.
import { join } from 'node:path';
import { readText } from '../procfs/read.js';
import type { Limits } from './limits.js';

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
  return memoryFigures(usageText, statText, version).workingSetBytes;
}

function usageOf(usageText: string | null): number | null {
  if (usageText == null || usageText.trim() === '') return null;
  const usage = Number(usageText.trim());
  return Number.isFinite(usage) ? usage : null;
}

/**
 * What the kernel cannot reclaim without killing: the cgroup's usage less its clean file pages
 * (file LRU pages neither dirty nor under writeback), floored at 0. The working set counts active
 * file pages (a mapped executable, log pages read twice) that the kernel drops before any OOM kill.
 * v2: memory.current − (active_file + inactive_file − file_dirty − file_writeback); v1: the same
 * from memory.stat's `total_` figures (`active_file`, `inactive_file`, `dirty`, `writeback` where
 * the hierarchical ones are absent).
 */
export function unreclaimable(usageText: string | null, statText: string | null, version: 'v1' | 'v2'): number | null {
  return memoryFigures(usageText, statText, version).unreclaimableBytes;
}

/** Both figures from one read of the usage and one parse of memory.stat (workingSet, unreclaimable). */
export function memoryFigures(usageText: string | null, statText: string | null, version: 'v1' | 'v2'): Pick<PodUsage, 'workingSetBytes' | 'unreclaimableBytes'> {
  const usage = usageOf(usageText);
  if (usage === null) return { workingSetBytes: null, unreclaimableBytes: null };
  const stat = parseMemoryStat(statText);
  // v2's names, or v1's hierarchical `total_` figure (the kubelet's), its own where that is absent.
  const get = (v2: string, v1: string) => (version === 'v2' ? stat.get(v2) : (stat.get(`total_${v1}`) ?? stat.get(v1))) ?? 0;
  const inactive = get('inactive_file', 'inactive_file');
  const clean = get('active_file', 'active_file') + inactive - get('file_dirty', 'dirty') - get('file_writeback', 'writeback');
  return { workingSetBytes: Math.max(0, usage - inactive), unreclaimableBytes: Math.max(0, usage - Math.max(0, clean)) };
}

export interface PodUsage {
  /** Working set of our memory cgroup, bytes; null without a readable memory controller. */
  workingSetBytes: number | null;
  /** Usage less clean file pages (unreclaimable), bytes; null without a readable memory controller. */
  unreclaimableBytes: number | null;
  /** Cumulative CPU time of our cgroup, µs (v2 cpu.stat usage_usec, v1 cpuacct.usage); null when unreadable. */
  cpuUsageMicros: number | null;
}

/**
 * The pod's usage now, from the directories readContainerLimits found. At most five small reads; never
 * throws. v2 is told from v1 by which usage file exists, so a hybrid host reads whichever holds
 * the memory controller.
 */
export function readPodUsage(paths: Limits['paths']): PodUsage {
  let memory: Pick<PodUsage, 'workingSetBytes' | 'unreclaimableBytes'> = { workingSetBytes: null, unreclaimableBytes: null };
  if (paths.memory) {
    const current = readText(join(paths.memory, 'memory.current'));
    const usage = current ?? readText(join(paths.memory, 'memory.usage_in_bytes'));
    memory = memoryFigures(usage, readText(join(paths.memory, 'memory.stat')), current != null ? 'v2' : 'v1');
  }
  let cpuUsageMicros: number | null = null;
  const acct = paths.cpuacct ?? paths.cpu;
  const v1 = acct ? readText(join(acct, 'cpuacct.usage')) : null;
  if (v1 != null && Number.isFinite(Number(v1.trim()))) cpuUsageMicros = Math.round(Number(v1.trim()) / 1000);
  else if (paths.cpu) {
    const usec = parseMemoryStat(readText(join(paths.cpu, 'cpu.stat'))).get('usage_usec');
    if (usec !== undefined) cpuUsageMicros = usec;
  }
  return { ...memory, cpuUsageMicros };
}
