import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OomCounter, oomCounterFiles, parseOomKills } from '../../../supervisor/cgroup/oom.js';
import { classifyExit, type ExitFacts } from '../../../supervisor/exit-classify.js';

const cases: [string, ExitFacts, string, string][] = [
  ['exit 0', { code: 0, signal: null }, 'exited', 'exited(0)'],
  ['exit 1', { code: 1, signal: null }, 'exited', 'exited(1)'],
  ['exit 2 is the child rejecting its config', { code: 2, signal: null }, 'config_error', 'config_error'],
  ['SIGTERM', { code: null, signal: 'SIGTERM' }, 'signaled', 'signaled(SIGTERM)'],
  ['SIGKILL without OOM', { code: null, signal: 'SIGKILL', oomKillsBefore: 3, oomKillsAfter: 3 }, 'signaled', 'signaled(SIGKILL)'],
  ['SIGKILL with the oom_kill count risen', { code: null, signal: 'SIGKILL', oomKillsBefore: 3, oomKillsAfter: 4 }, 'oom_killed', 'oom_killed'],
  ['SIGKILL with no readable counter', { code: null, signal: 'SIGKILL', oomKillsBefore: null, oomKillsAfter: null }, 'signaled', 'signaled(SIGKILL)'],
  ['SIGSEGV while oom_kill rose is not an OOM kill', { code: null, signal: 'SIGSEGV', oomKillsBefore: 0, oomKillsAfter: 1 }, 'signaled', 'signaled(SIGSEGV)'],
  ['ENOENT', { code: null, signal: null, spawnError: 'ENOENT' }, 'start_failed', 'start_failed(ENOENT)'],
  ['no code and no signal: a followed successor found gone', { code: null, signal: null }, 'vanished', 'vanished'],
  ['gone with the oom_kill count risen', { code: null, signal: null, oomKillsBefore: 0, oomKillsAfter: 1 }, 'oom_killed', 'oom_killed'],
  ['EACCES', { code: null, signal: null, spawnError: 'EACCES' }, 'start_failed', 'start_failed(EACCES)'],
];

describe('classifyExit', () => {
  it.each(cases)('%s', (_name, facts, kind, reason) => {
    const c = classifyExit(facts);
    expect(c.kind).toBe(kind);
    expect(c.reason).toBe(reason);
    expect(c.code).toBe(facts.code);
    expect(c.signal).toBe(facts.signal);
  });
});

describe('parseOomKills', () => {
  it('reads cgroup v2 memory.events', () => {
    expect(parseOomKills('low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n')).toBe(2);
  });
  it('reads cgroup v1 memory.oom_control', () => {
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 7\n')).toBe(7);
  });
  it('null when the kernel has no counter', () => {
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\n')).toBeNull();
  });
});

describe('oomCounterFiles', () => {
  it('v2 only (inside a container namespace)', () => {
    expect(oomCounterFiles('0::/\n')).toEqual(['/sys/fs/cgroup/memory.events', '/sys/fs/cgroup/unified/memory.events']);
  });
  it('v1 memory controller and the v2 hybrid mount, nested paths', () => {
    const text = '4:memory:/kubepods/pod1/abc\n3:cpu,cpuacct:/x\n0::/system.slice/warden.service\n';
    expect(oomCounterFiles(text, '/cg')).toEqual([
      '/cg/memory/kubepods/pod1/abc/memory.oom_control',
      '/cg/system.slice/warden.service/memory.events',
      '/cg/unified/system.slice/warden.service/memory.events',
    ]);
  });
});

describe('OomCounter', () => {
  it('finds the file that holds the counter and reads it again at each call', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-oom-'));
    try {
      writeFileSync(join(dir, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
      const counter = new OomCounter({ cgroupRoot: dir });
      expect(counter.read()).toBe(1);
      writeFileSync(join(dir, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
      expect(counter.read()).toBe(2);
      expect(new OomCounter({ cgroupRoot: join(dir, 'none') }).read()).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
