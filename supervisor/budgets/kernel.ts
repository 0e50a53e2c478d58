// Kernel mode: where a delegated cgroup v2 subtree exists (bare host, systemd `Delegate=yes`) the
// child gets its own cgroup and the kernel enforces its budget — cpu.max throttles, memory.high
// reclaims and slows, memory.max is the hard ceiling. cgroup v2's "no internal processes" rule
// means a cgroup that enables controllers for its children may not hold processes itself, so warden
// first moves itself into a leaf `agent/`, then enables cpu and memory, then creates `child/`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
/** What kernel mode writes from: the child's budget and hard ceiling. */
export interface ChildLimits {
  child: { cpuMillicores: number; memoryBytes: number };
  childHardMemoryBytes: number;
}

/** cpu.max period: the kernel default, 100 ms. */
export const CPU_PERIOD_US = 100_000;

export interface KernelCgroup {
  /** The child's cgroup directory. */
  childDir: string;
  agentDir: string;
  /** Moves a process into the child's cgroup (its future children follow it). */
  adopt(pid: number): void;
}

/** The files written for the child: `cpu.max`, `memory.high` (= budget), `memory.max` (= hard ceiling). */
export function childCgroupFiles(budgets: ChildLimits): Record<string, string> {
  const quota = Math.max(1000, Math.round((budgets.child.cpuMillicores / 1000) * CPU_PERIOD_US));
  return {
    'cpu.max': `${quota} ${CPU_PERIOD_US}\n`,
    'memory.high': `${budgets.child.memoryBytes}\n`,
    'memory.max': `${Math.max(budgets.childHardMemoryBytes, budgets.child.memoryBytes)}\n`,
  };
}

/**
 * Sets the subtree up under `base` (from delegatedCgroupV2). Throws an Error naming the file that
 * could not be written; the governor then falls back to watchdog mode.
 */
export function setupKernelCgroup(base: string, subtreeEnabled: boolean, budgets: ChildLimits, selfPid = process.pid): KernelCgroup {
  const agentDir = join(base, 'agent');
  const childDir = join(base, 'child');
  const write = (file: string, text: string) => {
    try {
      writeFileSync(file, text);
    } catch (err) {
      throw new Error(`kernel mode: cannot write ${file}: ${(err as Error).message}`);
    }
  };
  const mkdir = (d: string) => {
    try {
      mkdirSync(d, { recursive: true });
    } catch (err) {
      throw new Error(`kernel mode: cannot create ${d}: ${(err as Error).message}`);
    }
  };
  if (!subtreeEnabled) {
    mkdir(agentDir);
    write(join(agentDir, 'cgroup.procs'), `${selfPid}\n`);
    write(join(base, 'cgroup.subtree_control'), '+cpu +memory\n');
  }
  mkdir(childDir);
  for (const [name, text] of Object.entries(childCgroupFiles(budgets))) write(join(childDir, name), text);
  return {
    childDir,
    agentDir,
    adopt(pid: number) {
      write(join(childDir, 'cgroup.procs'), `${pid}\n`);
    },
  };
}
