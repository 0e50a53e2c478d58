import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeSampler } from '../../supervisor/budgets/node.js';

describe('node figures', () => {
  it('refresh reads memory, load and the free disk of state_dir from this machine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-node-'));
    try {
      const f = await new NodeSampler(dir).refresh();
      const memTotalKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
      expect(f.memTotalBytes).toBe(memTotalKb * 1024);
      expect(f.memAvailableBytes).toBeGreaterThan(0);
      expect(f.memPressure).toBeGreaterThan(0);
      expect(f.memPressure).toBeLessThan(1);
      const df = execFileSync('df', ['--output=avail', '-B1', dir], { encoding: 'utf8' }).trim().split('\n')[1]!;
      // The same filesystem as df reports, within what other writers change meanwhile.
      expect(Math.abs(f.stateDirFreeBytes! - Number(df)) / Number(df)).toBeLessThan(0.01);
      expect(f.load1).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
