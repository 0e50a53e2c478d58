import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RateWindow, SelfSampler, TreeSampler, parseSmapsRollup, parseStat, parseStatusRssAnon, parseStatusVmRss } from '../../../supervisor/budgets/proc.js';

/** A /proc/<pid>/stat line with the fields this module reads set. */
function statLine(pid: number, ppid: number, utime: number, stime: number, rssPages: number, comm = 'node', starttime = 1000) {
  const f = ['S', ppid, pid, pid, 0, -1, 4194560, 10, 0, 0, 0, utime, stime, 0, 0, 20, 0, 1, 0, starttime, 1000000, rssPages, 'x'];
  return `${pid} (${comm}) ${f.join(' ')}\n`;
}

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fakeProc(procs: { pid: number; ppid: number; u: number; s: number; rss: number; comm?: string; pssKb?: number }[], childrenFiles: boolean) {
  for (const p of procs) {
    const d = join(dir, String(p.pid));
    mkdirSync(join(d, 'task', String(p.pid)), { recursive: true });
    writeFileSync(join(d, 'stat'), statLine(p.pid, p.ppid, p.u, p.s, p.rss, p.comm));
    if (p.pssKb !== undefined) writeFileSync(join(d, 'smaps_rollup'), `00400000-7ff [rollup]\nRss:  ${p.rss * 4} kB\nPss:  ${p.pssKb} kB\n`);
    if (childrenFiles) writeFileSync(join(d, 'task', String(p.pid), 'children'), procs.filter((c) => c.ppid === p.pid).map((c) => c.pid).join(' ') + ' ');
  }
}

describe('parsers', () => {
  it('stat: a command name with spaces and parentheses does not shift the fields', () => {
    const s = parseStat(statLine(42, 7, 150, 50, 2560, 'ruby (worker) 1'))!;
    expect(s).toEqual({ pid: 42, state: 'S', ppid: 7, pgrp: 42, utime: 150, stime: 50, starttime: 1000, rssPages: 2560 });
  });
  it('smaps_rollup and status', () => {
    expect(parseSmapsRollup('x [rollup]\nRss:  2048 kB\nPss:  1024 kB\nPss_Anon: 9 kB\n')).toEqual({ rssBytes: 2048 * 1024, pssBytes: 1024 * 1024 });
    expect(parseStatusVmRss('Name:\tnode\nVmRSS:\t  51200 kB\n')).toBe(51200 * 1024);
    expect(parseStatusVmRss('Name:\tkthreadd\n')).toBeNull();
  });
  it('RateWindow keeps one point before the window so the span is the full window', () => {
    const w = new RateWindow(3000);
    for (let t = 0; t <= 10_000; t += 1000) w.push(t, t < 5000 ? 0 : (t - 5000) * 2);
    expect(w.rate()).toBe(2000);
    expect(w.lastRate()).toBe(2000);
  });
});

describe.each([true, false])('TreeSampler over a fake /proc (children files: %s)', (childrenFiles) => {
  it('finds the descendants, sums memory and turns tick deltas into millicores', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-proc-'));
    let t = 0;
    const sampler = new TreeSampler({ procRoot: dir, clkTck: 100, pageSize: 4096, now: () => t, windowMs: 3000 });
    const tree = (u: number) => [
      { pid: 10, ppid: 1, u, s: 0, rss: 1000, pssKb: 3000 },
      { pid: 11, ppid: 10, u, s: 0, rss: 1000, pssKb: 2000 },
      { pid: 12, ppid: 11, u: 0, s: u, rss: 500, pssKb: 1000 },
      { pid: 99, ppid: 1, u: 5000, s: 0, rss: 9999 }, // not ours
    ];
    fakeProc(tree(0), childrenFiles);
    const first = sampler.sample(10)!;
    expect(first.pids).toEqual([10, 11, 12]);
    expect(first.newPids).toEqual([10, 11, 12]);
    expect(first.cpuMillicores).toBeNull();
    expect(first.rssBytes).toBe(2500 * 4096);
    expect(first.pssBytes).toBe(6000 * 1024);
    expect(first.memoryBytes).toBe(6000 * 1024);
    t = 1000;
    fakeProc(tree(20), childrenFiles); // 3 × 20 ticks in 1 s = 0.6 s of CPU per s
    const second = sampler.sample(10)!;
    expect(second.newPids).toEqual([]);
    expect(second.cpuMillicores).toBe(600);
    expect(second.cpuMillicoresLast).toBe(600);
  });
});

describe('TreeSampler', () => {
  it('a single process is budgeted by RSS; a missing smaps_rollup makes PSS unknown', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-proc-'));
    fakeProc([{ pid: 10, ppid: 1, u: 0, s: 0, rss: 1000, pssKb: 100 }], false);
    let s = new TreeSampler({ procRoot: dir, clkTck: 100, pageSize: 4096 }).sample(10)!;
    expect(s.memoryBytes).toBe(1000 * 4096);
    expect(s.pssBytes).toBeNull(); // one process: its smaps_rollup is not read
    fakeProc([{ pid: 11, ppid: 10, u: 0, s: 0, rss: 10 }], false);
    s = new TreeSampler({ procRoot: dir, clkTck: 100, pageSize: 4096 }).sample(10)!;
    expect(s.pssBytes).toBeNull();
    expect(s.memoryBytes).toBe(1010 * 4096);
  });

  it('returns null when the root is gone, and a new root starts a fresh window', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-proc-'));
    let t = 0;
    const sampler = new TreeSampler({ procRoot: dir, clkTck: 100, pageSize: 4096, now: () => t });
    expect(sampler.sample(10)).toBeNull();
    fakeProc([{ pid: 10, ppid: 1, u: 100, s: 0, rss: 1 }, { pid: 20, ppid: 1, u: 500, s: 0, rss: 1 }], false);
    sampler.sample(10);
    t = 1000;
    expect(sampler.sample(20)!.cpuMillicores).toBeNull();
  });
});

describe('parseStatusRssAnon', () => {
  it('reads RssAnon in bytes: the memory warden budgets, without the file pages of the mapped binary', () => {
    const status = 'Name:\tnode\nVmRSS:\t   98304 kB\nRssAnon:\t   53248 kB\nRssFile:\t   45056 kB\nRssShmem:\t       0 kB\n';
    expect(parseStatusRssAnon(status)).toBe(53248 * 1024);
    expect(parseStatusRssAnon('Name:\tkthreadd\n')).toBeNull();
  });

  it('SelfSampler reports anonymous memory below RSS', () => {
    const s = new SelfSampler(3000).sample();
    expect(s.anonBytes).toBeGreaterThan(0);
    expect(s.anonBytes).toBeLessThanOrEqual(s.rssBytes);
  });
});
