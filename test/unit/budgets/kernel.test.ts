import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { childCgroupFiles, setupKernelCgroup } from '../../../supervisor/budgets/kernel.js';

const MIB = 1024 * 1024;
const budgets = { child: { cpuMillicores: 150, memoryBytes: 160 * MIB }, childHardMemoryBytes: 180 * MIB };
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('kernel mode (a temp directory standing in for a delegated cgroup v2)', () => {
  it('cpu.max, memory.high and memory.max follow the budget and the hard ceiling', () => {
    expect(childCgroupFiles(budgets)).toEqual({ 'cpu.max': '15000 100000\n', 'memory.high': `${160 * MIB}\n`, 'memory.max': `${180 * MIB}\n` });
  });

  it('moves warden into agent/, enables cpu and memory, creates child/ and adopts pids', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-kcg-'));
    const k = setupKernelCgroup(dir, false, budgets, 4242);
    expect(readFileSync(join(dir, 'agent/cgroup.procs'), 'utf8')).toBe('4242\n');
    expect(readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu +memory\n');
    expect(readFileSync(join(dir, 'child/cpu.max'), 'utf8')).toBe('15000 100000\n');
    k.adopt(777);
    expect(readFileSync(join(k.childDir, 'cgroup.procs'), 'utf8')).toBe('777\n');
  });

  it('names the file it could not write', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-kcg-'));
    writeFileSync(join(dir, 'not-a-dir'), '');
    expect(() => setupKernelCgroup(join(dir, 'not-a-dir'), true, budgets)).toThrow(/kernel mode: cannot create .*not-a-dir\/child/);
  });
});
