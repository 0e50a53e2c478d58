// countZombieOrphans over a /proc tree written to a temp dir: a real zombie reparented to PID 1
// cannot be made on demand on a host whose init reaps (pid1.test.ts does it in a PID namespace).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countZombieOrphans, pid1Warning } from '../../supervisor/pid1.js';
import { listProcs } from '../../supervisor/procfs/tree.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function fakeProc(procs: [pid: number, comm: string, state: string, ppid: number][]): string {
  const root = mkdtempSync(join(tmpdir(), 'warden-proc-'));
  dirs.push(root);
  for (const [pid, comm, state, ppid] of procs) {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), 'stat'), `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194560 0 0 0 0\n`);
  }
  mkdirSync(join(root, 'self'));
  writeFileSync(join(root, 'uptime'), '1.0 1.0\n');
  return root;
}

describe('PID 1', () => {
  it('warns only when warden is PID 1, and says how to fix it', () => {
    expect(pid1Warning(4242)).toBeNull();
    const w = pid1Warning(1)!;
    expect(w).toContain('tini');
    expect(w).toContain('--init');
    expect(w).toContain('shareProcessNamespace');
  });

  it('counts zombies whose parent is PID 1, and only those', () => {
    const root = fakeProc([
      [1, 'warden', 'S', 0],
      [20, 'ruby', 'S', 1],
      [21, 'ruby) Z 1 (odd', 'Z', 1], // a command name with spaces and parentheses
      [22, 'sh', 'Z', 1],
      [23, 'sh', 'Z', 20], // a zombie its living parent will still reap
    ]);
    expect(countZombieOrphans(root)).toBe(2);
    expect(listProcs(root).find((p) => p.pid === 21)).toMatchObject({ pid: 21, state: 'Z', ppid: 1, pgrp: 21 });
  });

  it('reads the real /proc', () => {
    expect(countZombieOrphans('/proc')).toBeGreaterThanOrEqual(0);
    expect(listProcs('/proc').some((p) => p.pid === process.pid && p.ppid === process.ppid)).toBe(true);
    expect(countZombieOrphans(join(tmpdir(), 'warden-no-such-proc'))).toBe(0);
  });
});
