// Kernel mode cannot run on this host (cgroup v1 with a unified mount that has no cpu/memory
// controllers), so a temp directory stands in for a delegated cgroup v2 and the governor's writes
// are read back. The child is a ChildHandle test double over a real spawned process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import { configSchema } from '../../config/schema.js';
import type { ChildHandle, ChildStatus } from '../../core/contracts.js';
import { readContainerLimits } from '../../supervisor/cgroup/limits.js';
import { BudgetGovernor } from '../../supervisor/budgets/governor.js';
import { createLogger } from '../../core/log.js';

const MIB = 1024 * 1024;
let dir = '';
let proc: ChildProcess | null = null;
afterEach(() => {
  if (proc?.pid) try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
  rmSync(dir, { recursive: true, force: true });
});

/** ChildHandle test double over a real process (only what the governor uses). */
function processDouble(p: ChildProcess): ChildHandle {
  const status = (): ChildStatus => ({ pid: p.pid!, state: 'ready', degraded: false, uptime_s: 0, restarts: 0, last_exit: null, next_start_in_ms: null, command: ['sleep'], port_held_by: null });
  return {
    status,
    pid: () => p.pid!,
    signalGroup: (sig) => (process.kill(-p.pid!, sig), true),
    restart: async () => undefined,
    on: () => undefined,
  };
}

function delegatedFixture(): string {
  dir = mkdtempSync(join(tmpdir(), 'warden-kgov-'));
  mkdirSync(join(dir, 'proc/self'), { recursive: true });
  writeFileSync(join(dir, 'proc/self/cgroup'), '0::/system.slice/warden.service\n');
  writeFileSync(join(dir, 'proc/self/mountinfo'), '29 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n');
  const cg = join(dir, 'sys/fs/cgroup/system.slice/warden.service');
  mkdirSync(cg, { recursive: true });
  writeFileSync(join(cg, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  writeFileSync(join(cg, 'cgroup.subtree_control'), '\n');
  return cg;
}

const wait = async (fn: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('BudgetGovernor mode', () => {
  it('kernel mode against a fixture directory standing in for a delegated cgroup v2: writes limits and moves the child in', async () => {
    const cg = delegatedFixture();
    proc = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const governor = new BudgetGovernor({
      config: configSchema.parse({ budgets: { sample_interval_ms: 100, child: { cpu_millicores: 150, memory_mib: 160 }, agent: { cpu_millicores: 50, memory_mib: 4096 } } }).budgets,
      child: processDouble(proc),
      logger: createLogger('silent'),
      metrics: createMetrics({ defaults: false }),
      limits: readContainerLimits({ root: dir }),
      cgroup: { root: dir },
    });
    governor.start();
    try {
      const snap = governor.snapshot();
      expect(snap.mode).toBe('kernel');
      expect(snap.mode_reason).toContain(join(cg, 'child'));
      expect(readFileSync(join(cg, 'child/cpu.max'), 'utf8')).toBe('15000 100000\n');
      expect(readFileSync(join(cg, 'child/memory.high'), 'utf8')).toBe(`${160 * MIB}\n`);
      expect(readFileSync(join(cg, 'child/memory.max'), 'utf8')).toBe(`${240 * MIB}\n`);
      expect(readFileSync(join(cg, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu +memory\n');
      expect(readFileSync(join(cg, 'agent/cgroup.procs'), 'utf8')).toBe(`${process.pid}\n`);
      await wait(() => {
        try {
          return readFileSync(join(cg, 'child/cgroup.procs'), 'utf8') === `${proc!.pid}\n`;
        } catch {
          return false;
        }
      }, 3000);
    } finally {
      governor.stop();
    }
  });

  it('watchdog mode on this host, with the reason in the snapshot', () => {
    const governor = new BudgetGovernor({
      config: configSchema.parse({}).budgets,
      child: { status: () => ({}) as ChildStatus, pid: () => null, signalGroup: () => false, restart: async () => undefined, on: () => undefined },
      logger: createLogger('silent'),
      metrics: createMetrics({ defaults: false }),
      limits: readContainerLimits(),
    });
    governor.start();
    governor.stop();
    const snap = governor.snapshot();
    expect(snap.mode).toBe('watchdog');
    expect(snap.mode_reason).toMatch(/^no delegated cgroup v2: /);
    expect(snap.budgets.how).toMatch(/^cgroup (hybrid|v1|v2|none);/);
    expect(snap.rows.map((r) => r.resource)).toEqual(['pod.memory', 'child.memory', 'child.cpu', 'agent.memory', 'agent.cpu']);
    expect(snap.rows.every((r) => r.state === 'normal')).toBe(true);
  });
});
