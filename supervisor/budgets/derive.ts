// The budgets in force: configured ones as given, missing ones derived from the container's limits.
// Pure: limits and config in, numbers and a one-line explanation (`how`) out, for the log and /status.
import type { Config } from '../../config/schema.js';
import { MIB, miCompact } from '../../core/units.js';
import type { Limits } from '../cgroup/limits.js';

/** The child's share of the container; the agent gets the rest minus headroom. */
export const SHARES = {
  childCpu: 0.75,
  childMemory: 0.8,
  /** Memory kept free for the kernel's page cache and short spikes: reclaim before the limit, not at it. */
  memoryHeadroom: 0.05,
};

/**
 * Used when the container has no limit. The child's figures are DESIGN's example. warden's memory
 * is measured as anonymous RSS (see SelfSampler): the single binary idles at ~70–100 MiB RSS, but
 * ~45 MiB of that are file pages of the mapped binary, which the kernel can drop and refault and
 * which the pod's working set counts once however many processes map them; anonymous memory idles
 * at ~50 MiB with 1,000 quiet files. warden has no CPU budget by default: throttling its own
 * reading where nothing forces it only makes the backlog last longer.
 */
export const UNLIMITED_DEFAULTS = {
  child: { cpuMillicores: 150, memoryBytes: 160 * MIB },
  agent: { cpuMillicores: null, memoryBytes: 96 * MIB },
};

/** The least memory a derived agent budget gets (anonymous RSS). */
export const AGENT_MEMORY_FLOOR = 80 * MIB;

/** The child's hard memory ceiling is this multiple of its budget (capped by memory_hard_share of a pod limit). */
export const HARD_FACTOR = 1.5;

export interface Budget {
  /** null: no CPU budget at all (warden without a container limit and unconfigured). */
  cpuMillicores: number | null;
  memoryBytes: number;
  /**
   * Whether warden acts on this CPU budget (cpu_action throttle). Only a budget configured
   * explicitly below the container's limit (or with no container limit) is enforced: under a
   * container quota the kernel already holds the pod, and a derived share is a figure for
   * /status, not a lever — throttling to fit it would leave the pod's quota idle.
   */
  cpuEnforced: boolean;
}

export interface Budgets {
  /** The container's own limits: the budget of the whole pod. memoryBytes is the lower of memory.max and memory.high. */
  pod: { cpuMillicores: number | null; memoryBytes: number | null };
  /** The child always has a CPU figure: duty_cycle needs one even where it is only a share. */
  child: Budget & { cpuMillicores: number };
  agent: Budget;
  /** Child memory at which it is restarted at once, without the flush step. */
  childHardMemoryBytes: number;
  how: string;
}

type BudgetsConfig = Pick<Config['budgets'], 'child' | 'agent' | 'memory_hard_share'>;
type LimitsIn = Pick<Limits, 'version' | 'cpuMillicores' | 'memoryBytes'> & Partial<Pick<Limits, 'memoryHighBytes'>>;

export function deriveBudgets(config: BudgetsConfig, limits: LimitsIn): Budgets {
  const notes: string[] = [];
  const cpu = limits.cpuMillicores;
  const mem = limits.memoryBytes;
  const c = cpuBudgets(config, cpu, notes);
  const m = memoryBudgets(config, mem, notes);
  const hard = hardCeiling(config, m.child, mem, notes);
  const high = limits.memoryHighBytes ?? null;
  const podMem = mem === null ? high : high === null ? mem : Math.min(mem, high);
  return {
    pod: { cpuMillicores: cpu, memoryBytes: podMem },
    child: { cpuMillicores: c.child, memoryBytes: m.child, cpuEnforced: c.childEnforced },
    agent: { cpuMillicores: c.agent, memoryBytes: m.agent, cpuEnforced: c.agentEnforced },
    childHardMemoryBytes: hard,
    how: `cgroup ${limits.version}; ${notes.join('; ')}`,
  };
}

function cpuBudgets(config: BudgetsConfig, cpu: number | null, notes: string[]): { child: number; agent: number | null; childEnforced: boolean; agentEnforced: boolean } {
  let child: number;
  let agent: number | null;
  if (cpu === null) {
    child = config.child?.cpu_millicores ?? UNLIMITED_DEFAULTS.child.cpuMillicores;
    agent = config.agent?.cpu_millicores ?? UNLIMITED_DEFAULTS.agent.cpuMillicores;
    notes.push(`cpu: no container limit, ${config.child ? 'child configured' : `child default ${child}m`}, ${config.agent ? 'agent configured' : 'agent unbudgeted'}`);
  } else {
    child = config.child?.cpu_millicores ?? Math.max(1, Math.round(cpu * SHARES.childCpu));
    agent = config.agent?.cpu_millicores ?? Math.max(10, cpu - child);
    notes.push(
      `cpu: container limit ${cpu}m held by the kernel → child ${config.child ? 'configured' : `${SHARES.childCpu * 100}%`} ${child}m, agent ${config.agent ? 'configured' : 'the rest'} ${agent}m`,
    );
  }
  // Enforced only when configured and below what the kernel already holds the pod to.
  const enforced = (configured: number | undefined) => configured !== undefined && (cpu === null || configured < cpu);
  const childEnforced = enforced(config.child?.cpu_millicores);
  const agentEnforced = enforced(config.agent?.cpu_millicores);
  const held = [childEnforced && 'child', agentEnforced && 'agent'].filter(Boolean);
  notes.push(held.length ? `cpu enforced by warden for ${held.join(' and ')}` : 'no cpu throttle by warden');
  return { child, agent, childEnforced, agentEnforced };
}

function memoryBudgets(config: BudgetsConfig, mem: number | null, notes: string[]): { child: number; agent: number } {
  if (config.child && config.agent) {
    notes.push('memory: configured');
    return { child: config.child.memory_mib * MIB, agent: config.agent.memory_mib * MIB };
  }
  if (mem === null) {
    const child = config.child ? config.child.memory_mib * MIB : UNLIMITED_DEFAULTS.child.memoryBytes;
    const agent = config.agent ? config.agent.memory_mib * MIB : UNLIMITED_DEFAULTS.agent.memoryBytes;
    notes.push(`memory: no container limit, child ${miCompact(child)}, agent ${miCompact(agent)} anonymous`);
    return { child, agent };
  }
  const headroom = Math.round(mem * SHARES.memoryHeadroom);
  let agent = config.agent ? config.agent.memory_mib * MIB : 0;
  let child = config.child ? config.child.memory_mib * MIB : Math.round(mem * SHARES.childMemory);
  if (!config.agent) {
    // Below AGENT_MEMORY_FLOOR warden would shed all the time, so the floor is kept and a
    // derived child budget gives way to it.
    agent = Math.max(AGENT_MEMORY_FLOOR, mem - child - headroom);
    if (!config.child && child + agent + headroom > mem) child = Math.max(16 * MIB, mem - agent - headroom);
  }
  notes.push(
    `memory: container limit ${miCompact(mem)} → child ${config.child ? 'configured' : `${SHARES.childMemory * 100}%`} ${miCompact(child)}, agent ${config.agent ? 'configured' : `the rest less ${SHARES.memoryHeadroom * 100}% headroom`} ${miCompact(agent)}`,
  );
  if (child + agent > mem) notes.push(`warning: child + agent (${miCompact(child + agent)}) exceed the container limit`);
  return { child, agent };
}

/**
 * HARD_FACTOR × the child's budget, and in a pod never above memory_hard_share of the pod's
 * limit: a leak is stopped near its own budget even where the pod has room to spare.
 */
function hardCeiling(config: BudgetsConfig, childMem: number, mem: number | null, notes: string[]): number {
  const own = Math.round(childMem * HARD_FACTOR);
  const podHard = mem === null ? null : Math.round(mem * config.memory_hard_share);
  const hard = podHard === null ? own : Math.min(own, podHard);
  notes.push(
    podHard === null || own <= podHard
      ? `hard ceiling ${HARD_FACTOR}× child budget = ${miCompact(hard)}`
      : `hard ceiling memory_hard_share ${config.memory_hard_share} × ${miCompact(mem!)} = ${miCompact(hard)}`,
  );
  if (hard <= childMem) notes.push(`warning: hard ceiling ${miCompact(hard)} is not above the child budget, so memory over budget restarts at once`);
  return hard;
}
