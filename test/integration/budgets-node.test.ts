import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeSampler, mountFor } from '../../supervisor/budgets/node.js';

describe('node figures', () => {
  it('mountFor picks the longest mount point that holds the path, not a name prefix', () => {
    const mounts = [{ mount: '/' }, { mount: '/var' }, { mount: '/var/lib' }, { mount: '/var/lib/warden2' }];
    expect(mountFor(mounts, '/var/lib/warden/state')!.mount).toBe('/var/lib');
    expect(mountFor(mounts, '/etc')!.mount).toBe('/');
    expect(mountFor([{ mount: '/data' }], '/var')).toBeNull();
  });

  it('refresh reads memory, load and the free disk of state_dir from this machine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-node-'));
    try {
      const f = await new NodeSampler(dir).refresh();
      const memTotalKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
      expect(f.memTotalBytes).toBe(memTotalKb * 1024);
      expect(f.memAvailableBytes).toBeGreaterThan(0);
      expect(f.memPressure).toBeGreaterThan(0);
      expect(f.memPressure).toBeLessThan(1);
      expect(f.stateDirFreeBytes).toBeGreaterThan(0);
      expect(f.load1).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
