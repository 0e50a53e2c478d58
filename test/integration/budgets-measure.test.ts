// TreeSampler against real fixture children, checked against what ps and /proc say when read
// independently (not through supervisor/budgets/proc.ts).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SelfSampler, TreeSampler } from '../../supervisor/budgets/proc.js';
import { allPids, cpuTicks as ticksOf, fixture, procStat, rssKb, sleep, waitFor } from '../support/index.js';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

let procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs) if (p.pid) try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
  procs = [];
});

function start(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const p = spawn(cmd, args, { detached: true, stdio: 'ignore', env: { ...process.env, PORT: '0', ...env } });
  procs.push(p);
  return p.pid!;
}

const within = (actual: number, expected: number, share: number) => Math.abs(actual - expected) <= expected * share;

describe('TreeSampler against /proc and ps', () => {
  it('CPU of a cpu-spin child at half a core agrees with /proc utime+stime within 5%', async () => {
    const pid = start(process.execPath, [fixture('cpu-spin.mjs')], { SHARE: '0.5' });
    await waitFor('the spinner running', () => ticksOf(pid) > 10);
    const sampler = new TreeSampler({ windowMs: 10_000 });
    sampler.sample(pid);
    const t0 = performance.now();
    const k0 = ticksOf(pid);
    await sleep(3000); // the measurement window
    const s = sampler.sample(pid)!;
    const k1 = ticksOf(pid);
    const independent = ((k1 - k0) / CLK_TCK / ((performance.now() - t0) / 1000)) * 1000;
    expect(independent).toBeGreaterThan(100); // the fixture really spins (less than 500m on a busy box)
    expect(within(s.cpuMillicores!, independent, 0.05)).toBe(true);
  });

  it('memory of a mem-grow child agrees with ps -o rss= and /proc/<pid>/status within 5%', async () => {
    const pid = start(process.execPath, [fixture('mem-grow.mjs')], { RATE_MIB_PER_S: '10' });
    await waitFor('the grower past 55 MiB', () => (rssKb(pid) ?? 0) > 55 * 1024);
    const s = new TreeSampler().sample(pid)!;
    const ps = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) * 1024;
    const status = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    expect(s.rssBytes).toBeGreaterThan(50 * 1024 * 1024);
    expect(within(s.rssBytes, ps, 0.05)).toBe(true);
    expect(within(s.rssBytes, status, 0.05)).toBe(true);
    expect(s.memoryBytes).toBe(s.rssBytes); // one process: RSS is what is budgeted
    expect(s.pssBytes).toBeNull(); // not read for one process: its page-table walk costs more than it tells
  });

  it('finds the whole tree of a group leader, as ps lists the process group', async () => {
    const leader = start('sh', ['-c', `sleep 30 & sh -c 'sleep 30 & wait' & wait`]);
    await waitFor('the four processes of the group', () => allPids().filter((p) => procStat(p)?.pgid === leader).length === 4);
    const s = new TreeSampler().sample(leader)!;
    const group = execFileSync('ps', ['-o', 'pid=', '-g', String(leader)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    expect(s.pids.length).toBe(4);
    expect([...s.pids].sort()).toEqual([...group].sort());
    expect(s.memoryBytes).toBe(s.pssBytes); // a tree: PSS, shared pages counted once
  });

  it('SelfSampler reports warden\'s own CPU and RSS, as /proc/self says', async () => {
    const self = new SelfSampler(5000);
    self.sample();
    const t0 = performance.now();
    const k0 = ticksOf(process.pid);
    const end = Date.now() + 600;
    while (Date.now() < end) { /* spin */ }
    const s = self.sample();
    const k1 = ticksOf(process.pid);
    const independent = ((k1 - k0) / CLK_TCK / ((performance.now() - t0) / 1000)) * 1000;
    expect(s.cpuMillicores!).toBeGreaterThan(100);
    // Ticks are 10 ms apart: over 600 ms that alone is up to ±2 ticks.
    expect(Math.abs(s.cpuMillicores! - independent)).toBeLessThanOrEqual(independent * 0.05 + 40);
    const status = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
    expect(within(s.rssBytes, status, 0.05)).toBe(true);
  });
});
