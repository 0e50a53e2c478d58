// The bench header's disk readahead: read from the queue of the block device a path lives on.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readaheadOf } from '../../../scripts/bench/machine.js';

describe('readaheadOf', () => {
  it('says where there is no block device, and names what it could not stat', () => {
    // procfs has an anonymous device (major 0).
    expect(readaheadOf('/proc/self')).toBe('no block device');
    expect(readaheadOf('/nonexistent/warden-bench')).toMatch(/^unknown \(ENOENT.*\/nonexistent\/warden-bench/);
  });

  it("gives a path on a disk that disk's read_ahead_kb, found from the device number", () => {
    // The kernel's own major:minor of the root mount, to check the decoding of stat's dev against.
    const root = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[4] === '/')!;
    const mm = root[2]!;
    if (mm.startsWith('0:')) {
      expect(readaheadOf('/')).toBe('no block device');
      return;
    }
    const queue = [`/sys/dev/block/${mm}/queue/read_ahead_kb`, `/sys/dev/block/${mm}/../queue/read_ahead_kb`].find((q) => existsSync(q));
    expect(readaheadOf('/')).toBe(queue ? `${readFileSync(queue, 'utf8').trim()} KiB` : `unknown (no queue for block device ${mm})`);
  });
});
