// The bench drops the binary it has just built from the page cache, so it is mapped as read from disk.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evictFromPageCache } from '../../../scripts/bench/cgroup.js';

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
