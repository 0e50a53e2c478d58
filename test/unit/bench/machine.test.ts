// The bench header's disk readahead: read from the queue of the block device a path lives on.
// And the idle section's dropping of one file's pages from the page cache.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evictFromPageCache, readaheadOf } from '../../../scripts/bench/machine.js';

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

describe('evictFromPageCache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-evict-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** Bytes of `path` in the page cache, from util-linux's fincore (mincore(2) of a mapping). */
  const cached = (path: string) => Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).trim());
  // tmpfs pages are the file itself: there is no cache to drop them from.
  const onTmpfs = statfsSync(dir).type === 0x01021994;

  it.skipIf(onTmpfs)('drops a just-written file from the cache, dirty pages included, and leaves the file whole', () => {
    const path = join(dir, 'program');
    const body = Buffer.alloc(4 << 20, 'warden ');
    writeFileSync(path, body);
    expect(cached(path)).toBeGreaterThan(1 << 20);
    expect(evictFromPageCache(path)).toBeNull();
    expect(cached(path)).toBe(0);
    expect(readFileSync(path).equals(body)).toBe(true);
  });

  it('says which file it could not drop, and why', () => {
    const why = evictFromPageCache(join(dir, 'missing'));
    expect(why).toContain(join(dir, 'missing'));
    expect(why).toMatch(/No such file/);
  });
});
