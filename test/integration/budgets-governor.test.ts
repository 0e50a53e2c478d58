// The budget governor against a real ChildSupervisor running real fixture children: a memory
// grower is flushed and restarted before it gets far past its budget, and a full-core spinner is
// duty-cycled down to its CPU budget. Usage is observed independently from /proc by the test.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import { configSchema } from '../../config/schema.js';
import { ChildSupervisor } from '../../supervisor/child.js';
import { readContainerLimits } from '../../supervisor/cgroup/limits.js';
import { BudgetGovernor } from '../../supervisor/budgets/governor.js';
import { captureLogger, cpuTicks, fixture, freePort, procStat, rssKb, sleep, waitFor } from '../support/index.js';

const MIB = 1024 * 1024;
const CLK_TCK = 100;

/** Read independently of supervisor/budgets/proc.ts. */
function vmRssBytes(pid: number): number | null {
  const kb = rssKb(pid);
  return kb === null ? null : kb * 1024;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function setup(script: string, env: Record<string, string>, budgets: Record<string, unknown>) {
  const port = await freePort();
  const { logger, entries } = captureLogger('debug');
  const metrics = createMetrics({ defaults: false });
  const child = new ChildSupervisor({
    command: [process.execPath, fixture(script)],
    env: { PORT: String(port), ...env },
    stopSignal: 'SIGTERM',
    reloadSignal: 'SIGUSR2',
    stopGraceS: 2,
    readyTimeoutS: 10,
    restart: { backoff_initial_ms: 20, backoff_max_ms: 300, stable_after_s: 60, degraded_after: 5 },
    forwardTo: `tcp://127.0.0.1:${port}`,
    logger,
    metrics,
  });
  const config = configSchema.parse({ budgets }).budgets;
  const tailCalls: { rate: (number | null)[]; shed: boolean[] } = { rate: [], shed: [] };
  const governor = new BudgetGovernor({
    config,
    child,
    tail: { setRateLimit: (r) => tailCalls.rate.push(r), shed: (on) => tailCalls.shed.push(on) },
    logger,
    metrics,
    limits: readContainerLimits(),
  });
  cleanup.push(async () => {
    governor.stop();
    await child.stop();
  });
  child.start();
  await waitFor('child ready', () => child.status().state === 'ready', 10_000);
  governor.start();
  return { child, governor, metrics, entries, tailCalls };
}

describe('BudgetGovernor with a real ChildSupervisor', () => {
  it('restarts a child growing 20 MiB/s under memory_mib 100 (default sustain) within 2 s, before it reaches 150 MiB', async () => {
    const { child, governor, metrics, entries } = await setup(
      'mem-grow.mjs',
      { RATE_MIB_PER_S: '20' },
      { sample_interval_ms: 1000, cpu_action: 'none', child: { cpu_millicores: 2000, memory_mib: 100 }, agent: { cpu_millicores: 2000, memory_mib: 4096 } },
    );
    const firstPid = child.pid()!;
    let crossedAt: number | null = null;
    let maxRss = 0;
    // Watch the first child's RSS every 20 ms until it is gone.
    const restartedAt = await waitFor(
      'budget_memory restart',
      () => {
        const rss = vmRssBytes(firstPid);
        if (rss !== null) {
          maxRss = Math.max(maxRss, rss);
          if (crossedAt === null && rss >= 100 * MIB) crossedAt = Date.now();
        }
        const s = child.status();
        return s.last_exit?.kind === 'budget_memory' ? Date.now() : null;
      },
      15_000,
    );
    expect(crossedAt).not.toBeNull();
    expect(maxRss).toBeGreaterThanOrEqual(100 * MIB);
    expect(maxRss).toBeLessThan(150 * MIB);
    // The growth would reach the 150 MiB hard ceiling before memory_sustain_s (2 s) is over, so the ladder does not wait for it.
    expect(restartedAt - crossedAt!).toBeLessThanOrEqual(2000);
    // Flush first, then the restart; both counted, logged and in the snapshot.
    const snap = governor.snapshot();
    expect(snap.mode).toBe('watchdog');
    expect(snap.actions.map((a) => a.action)).toEqual(expect.arrayContaining(['flush', 'restart']));
    expect(snap.actions.findIndex((a) => a.action === 'flush')).toBeLessThan(snap.actions.findIndex((a) => a.action === 'restart'));
    expect(snap.violations['child.memory.flush']).toBe(1);
    expect(snap.violations['child.memory.restart']).toBe(1);
    const counted = (await metrics.budgetViolations.get()).values.find((v) => v.labels.who === 'child' && v.labels.resource === 'memory' && v.labels.action === 'restart');
    expect(counted?.value).toBe(1);
    // One line per transition, naming the action that came with it.
    const toActing = entries.filter((e) => e.msg === 'budget state' && e.resource === 'child.memory' && e.to === 'acting');
    expect(toActing).toHaveLength(1);
    expect(toActing[0]!.actions).toEqual(['flush']);
    expect(entries.some((e) => e.msg === 'budget action' && e.action === 'restart')).toBe(true);
    expect((child.status().last_exit?.last_lines ?? []).join('\n')).toContain('flush requested');
    expect(child.status().last_exit?.reason).toBe('budget_memory');
    // The new child is first in line for the OOM killer.
    const newPid = await waitFor('new child', () => child.pid() !== firstPid && child.pid(), 5000);
    await waitFor('oom_score_adj raised', () => readFileSync(`/proc/${newPid}/oom_score_adj`, 'utf8').trim() === '1000', 3000);
  }, 25_000);

  it('holds a full-core spinner to 200m ± 50m over 10 s with cpu_action duty_cycle, and leaves it running on stop', async () => {
    const { child, governor, tailCalls } = await setup(
      'cpu-spin.mjs',
      { SHARE: '1' },
      { sample_interval_ms: 1000, cpu_sustain_s: 1, cpu_action: 'duty_cycle', child: { cpu_millicores: 200, memory_mib: 1024 }, agent: { cpu_millicores: 2000, memory_mib: 4096 } },
    );
    const pid = child.pid()!;
    await waitFor('duty cycle on', () => governor.snapshot().enforcement.duty_stop_fraction > 0, 8000);
    await sleep(2000); // let the stopped share settle
    const t0 = performance.now();
    const ticks0 = cpuTicks(pid);
    await sleep(10_000);
    const ticks1 = cpuTicks(pid);
    const millicores = ((ticks1 - ticks0) / CLK_TCK / ((performance.now() - t0) / 1000)) * 1000;
    expect(millicores).toBeGreaterThanOrEqual(150);
    expect(millicores).toBeLessThanOrEqual(250);
    expect(child.pid()).toBe(pid);
    // duty_cycle stops the child; warden's own reading is left alone.
    expect(tailCalls.rate).toEqual([]);
    // Set once on entering `acting`, then adjusted at most once per dwell (3 s), never at every sample.
    const snap = governor.snapshot();
    expect(snap.states['child.cpu'].state).toBe('acting');
    expect(snap.violations['child.cpu.duty_cycle']).toBeGreaterThanOrEqual(1);
    expect(snap.violations['child.cpu.duty_cycle']).toBeLessThanOrEqual(6);

    governor.stop();
    await sleep(150);
    // Never left stopped: state is R or S, not T, for several looks in a row.
    for (let i = 0; i < 5; i++) {
      expect(procStat(pid)?.state).not.toBe('T');
      await sleep(30);
    }
  }, 30_000);
});
