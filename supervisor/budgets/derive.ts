// The budgets in force: configured ones as given, missing ones derived from the container's limits.
// Pure: limits and config in, numbers and a one-line explanation (`how`) out, for the log and /status.
import type { Config } from '../../config/schema.js';
import type { Limits } from './cgroup.js';

const MIB = 1024 * 1024;

/** The child's share of the container; the agent gets the rest minus headroom. */
export const SHARES = {
  childCpu: 0.75,
  childMemory: 0.8,
  /** Memory kept free for the kernel's page cache and short spikes: reclaim before the limit, not at it. */
  memoryHeadroom: 0.05,
};

/**
 * Used when the container has no limit: DESIGN's example for the child; for warden itself more
 * than the example's 48Mi, because warden on Node.js is ~70 MiB resident when idle, and a budget
 * below that would only make it shed all the time.
 */
export const UNLIMITED_DEFAULTS = {
  child: { cpuMillicores: 150, memoryBytes: 160 * MIB },
  agent: { cpuMillicores: 50, memoryBytes: 96 * MIB },
};

/** The least memory a derived agent budget gets. */
export const AGENT_MEMORY_FLOOR = 80 * MIB;

/** When unlimited, the hard memory ceiling is this multiple of the child's budget. */
export const UNLIMITED_HARD_FACTOR = 1.5;

export interface Budget {
  cpuMillicores: number;
  memoryBytes: number;
}

export interface Budgets {
  child: Budget;
  agent: Budget;
  /** Child memory at which it is restarted at once, without the flush step. */
  childHardMemoryBytes: number;
  how: string;
}

type BudgetsConfig = Pick<Config['budgets'], 'child' | 'agent' | 'memory_hard_share'>;

export function deriveBudgets(config: BudgetsConfig, limits: Pick<Limits, 'version' | 'cpuMillicores' | 'memoryBytes'>): Budgets {
  const notes: string[] = [];
  const cpu = limits.cpuMillicores;
  const mem = limits.memoryBytes;

  let childCpu: number;
  let agentCpu: number;
  if (config.child && config.agent) {
    childCpu = config.child.cpu_millicores;
    agentCpu = config.agent.cpu_millicores;
    notes.push('cpu: configured');
  } else if (cpu === null) {
    childCpu = config.child?.cpu_millicores ?? UNLIMITED_DEFAULTS.child.cpuMillicores;
    agentCpu = config.agent?.cpu_millicores ?? UNLIMITED_DEFAULTS.agent.cpuMillicores;
    notes.push(`cpu: no container limit, ${config.child ? 'child configured' : `child default ${childCpu}m`}, ${config.agent ? 'agent configured' : `agent default ${agentCpu}m`}`);
  } else {
    childCpu = config.child?.cpu_millicores ?? Math.max(1, Math.round(cpu * SHARES.childCpu));
    // CPU is compressible (the kernel throttles, never kills), so the agent gets all the rest.
    agentCpu = config.agent?.cpu_millicores ?? Math.max(10, cpu - childCpu);
    notes.push(
      `cpu: container limit ${cpu}m → child ${config.child ? 'configured' : `${SHARES.childCpu * 100}%`} ${childCpu}m, agent ${config.agent ? 'configured' : 'the rest'} ${agentCpu}m`,
    );
  }

  let childMem: number;
  let agentMem: number;
  if (config.child && config.agent) {
    childMem = config.child.memory_mib * MIB;
    agentMem = config.agent.memory_mib * MIB;
    notes.push('memory: configured');
  } else if (mem === null) {
    childMem = config.child ? config.child.memory_mib * MIB : UNLIMITED_DEFAULTS.child.memoryBytes;
    agentMem = config.agent ? config.agent.memory_mib * MIB : UNLIMITED_DEFAULTS.agent.memoryBytes;
    notes.push(`memory: no container limit, child ${mib(childMem)}, agent ${mib(agentMem)}`);
  } else {
    const headroom = Math.round(mem * SHARES.memoryHeadroom);
    agentMem = config.agent ? config.agent.memory_mib * MIB : 0;
    childMem = config.child ? config.child.memory_mib * MIB : Math.round(mem * SHARES.childMemory);
    if (!config.agent) {
      // warden is ~70 MiB resident when idle: below AGENT_MEMORY_FLOOR it would shed all the time,
      // so the floor is kept and a derived child budget gives way to it.
      agentMem = Math.max(AGENT_MEMORY_FLOOR, mem - childMem - headroom);
      if (!config.child && childMem + agentMem + headroom > mem) childMem = Math.max(16 * MIB, mem - agentMem - headroom);
    }
    notes.push(
      `memory: container limit ${mib(mem)} → child ${config.child ? 'configured' : `${SHARES.childMemory * 100}%`} ${mib(childMem)}, agent ${config.agent ? 'configured' : `the rest less ${SHARES.memoryHeadroom * 100}% headroom`} ${mib(agentMem)}`,
    );
    if (childMem + agentMem > mem) notes.push(`warning: child + agent (${mib(childMem + agentMem)}) exceed the container limit`);
  }

  const hard = mem === null ? Math.round(childMem * UNLIMITED_HARD_FACTOR) : Math.round(mem * config.memory_hard_share);
  notes.push(
    mem === null
      ? `hard ceiling ${UNLIMITED_HARD_FACTOR}× child budget = ${mib(hard)}`
      : `hard ceiling memory_hard_share ${config.memory_hard_share} × ${mib(mem)} = ${mib(hard)}`,
  );
  if (hard <= childMem) notes.push(`warning: hard ceiling ${mib(hard)} is not above the child budget, so memory over budget restarts at once`);

  return {
    child: { cpuMillicores: childCpu, memoryBytes: childMem },
    agent: { cpuMillicores: agentCpu, memoryBytes: agentMem },
    childHardMemoryBytes: hard,
    how: `cgroup ${limits.version}; ${notes.join('; ')}`,
  };
}

function mib(bytes: number): string {
  return `${+(bytes / MIB).toFixed(1)}Mi`;
}
