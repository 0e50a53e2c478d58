import { describe, expect, it } from 'vitest';
import { deriveBudgets } from '../../../supervisor/budgets/derive.js';

const MIB = 1024 * 1024;
const base = { memory_hard_share: 0.9 };

describe('deriveBudgets', () => {
  it('from a 200m / 200Mi container: child 75% cpu; agent keeps its 80Mi floor and the child gets the rest less 5% headroom', () => {
    const b = deriveBudgets(base, { version: 'v2', cpuMillicores: 200, memoryBytes: 200 * MIB });
    expect(b.child).toEqual({ cpuMillicores: 150, memoryBytes: 200 * MIB - 80 * MIB - 10 * MIB, cpuEnforced: false });
    expect(b.agent).toEqual({ cpuMillicores: 50, memoryBytes: 80 * MIB, cpuEnforced: false });
    expect(b.pod).toEqual({ cpuMillicores: 200, memoryBytes: 200 * MIB });
    expect(b.childHardMemoryBytes).toBe(165 * MIB); // 1.5 × 110Mi, under 0.9 × 200Mi
    expect(b.how).toMatch(/cgroup v2; cpu: container limit 200m held by the kernel → child 75% 150m/);
    expect(b.how).toMatch(/no cpu throttle by warden/);
    expect(b.how).toMatch(/hard ceiling 1.5× child budget = 165Mi/);
    expect(deriveBudgets(base, { version: 'v2', cpuMillicores: 200, memoryBytes: 1024 * MIB }).how).toMatch(/hard ceiling memory_hard_share 0.9 × 1024Mi = 921.6Mi/);
  });

  it('from a 1Gi container: child 80% memory, agent the rest less headroom (above the floor)', () => {
    const b = deriveBudgets(base, { version: 'v1', cpuMillicores: 1000, memoryBytes: 1024 * MIB });
    expect(b.child.memoryBytes).toBe(Math.round(1024 * MIB * 0.8));
    expect(b.agent.memoryBytes).toBe(1024 * MIB - Math.round(1024 * MIB * 0.8) - Math.round(1024 * MIB * 0.05));
  });

  it('unlimited: the DESIGN defaults, no agent CPU budget, and a hard ceiling of 1.5× the child budget', () => {
    const b = deriveBudgets(base, { version: 'v1', cpuMillicores: null, memoryBytes: null });
    expect(b.child).toEqual({ cpuMillicores: 150, memoryBytes: 160 * MIB, cpuEnforced: false });
    expect(b.agent).toEqual({ cpuMillicores: null, memoryBytes: 96 * MIB, cpuEnforced: false });
    expect(b.pod).toEqual({ cpuMillicores: null, memoryBytes: null });
    expect(b.childHardMemoryBytes).toBe(240 * MIB);
    expect(b.how).toMatch(/no container limit/);
  });

  it('configured budgets win; the hard ceiling follows the child budget, capped by the container', () => {
    const b = deriveBudgets(
      { ...base, child: { cpu_millicores: 300, memory_mib: 100 }, agent: { cpu_millicores: 20, memory_mib: 40 } },
      { version: 'hybrid', cpuMillicores: 1000, memoryBytes: 1024 * MIB },
    );
    // Both below the container's 1000m: warden enforces them.
    expect(b.child).toEqual({ cpuMillicores: 300, memoryBytes: 100 * MIB, cpuEnforced: true });
    expect(b.agent).toEqual({ cpuMillicores: 20, memoryBytes: 40 * MIB, cpuEnforced: true });
    expect(b.childHardMemoryBytes).toBe(150 * MIB);
    expect(b.how).toMatch(/cpu enforced by warden for child and agent; memory: configured/);
  });

  it('only the child configured: the agent gets what the container leaves, but not below its floor', () => {
    const b = deriveBudgets({ ...base, child: { cpu_millicores: 100, memory_mib: 120 } }, { version: 'v2', cpuMillicores: 200, memoryBytes: 200 * MIB });
    expect(b.agent).toEqual({ cpuMillicores: 100, memoryBytes: 80 * MIB, cpuEnforced: false });
    expect(b.child.cpuEnforced).toBe(true);
  });

  it('a CPU budget at or above the container quota is not enforced: the kernel already holds the pod', () => {
    const b = deriveBudgets({ ...base, agent: { cpu_millicores: 4000, memory_mib: 100 } }, { version: 'v1', cpuMillicores: 200, memoryBytes: null });
    expect(b.agent.cpuEnforced).toBe(false);
    const free = deriveBudgets({ ...base, agent: { cpu_millicores: 4000, memory_mib: 100 } }, { version: 'v1', cpuMillicores: null, memoryBytes: null });
    expect(free.agent.cpuEnforced).toBe(true);
  });

  it('the pod memory budget is the lower of memory.max and memory.high', () => {
    const b = deriveBudgets(base, { version: 'v2', cpuMillicores: null, memoryBytes: 200 * MIB, memoryHighBytes: 180 * MIB });
    expect(b.pod.memoryBytes).toBe(180 * MIB);
    expect(deriveBudgets(base, { version: 'v2', cpuMillicores: null, memoryBytes: null, memoryHighBytes: 150 * MIB }).pod.memoryBytes).toBe(150 * MIB);
  });

  it('warns when the hard ceiling is not above the child budget', () => {
    const b = deriveBudgets({ memory_hard_share: 0.5 }, { version: 'v2', cpuMillicores: null, memoryBytes: 200 * MIB });
    expect(b.how).toMatch(/warning: hard ceiling 100Mi is not above the child budget/);
  });
});
