// The config watcher's poll reads a file only when its stat (device, inode, size, mtime, ctime)
// changed since the last read, and still sees an in-place edit of the same size and a ConfigMap's
// symlink swap. Real files in a temp dir; reads are counted through the watcher's `read` hook.
import { mkdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfigBytes } from '../../../config/load.js';
import { ConfigWatcher } from '../../../supervisor/config-watch.js';
import { captureLogger, tempDir } from '../../support/index.js';

function watcher(path: string) {
  const reads: string[] = [];
  const changes: string[] = [];
  const w = new ConfigWatcher({
    paths: [path],
    intervalMs: 0,
    logger: captureLogger().logger,
    onChange: (p) => changes.push(p),
    read: (p) => {
      reads.push(p);
      return readConfigBytes(p);
    },
  });
  return { w, reads, changes };
}

describe('ConfigWatcher polls', () => {
  it('an unchanged file is not read again; an in-place edit of the same size is seen and fires once', () => {
    const t = tempDir();
    try {
      const path = join(t.dir, 'warden.yaml');
      writeFileSync(path, 'log: { level: info }\n');
      const { w, reads, changes } = watcher(path);
      expect(reads.length).toBe(1);
      for (let i = 0; i < 5; i++) w.poll();
      expect(reads.length).toBe(1);
      writeFileSync(path, 'log: { level: warn }\n');
      // mtime granularity: the edit must not hide behind an equal mtime.
      utimesSync(path, new Date(), new Date(Date.now() + 1000));
      w.poll();
      w.poll();
      expect(changes).toEqual([path]);
      const after = reads.length;
      w.poll();
      w.poll();
      expect(reads.length).toBe(after);
      expect(changes).toEqual([path]);
    } finally {
      t.cleanup();
    }
  });

  it('a ConfigMap swap of ..data is seen though the path and the bytes in the old file stay', () => {
    const t = tempDir();
    try {
      const vol = join(t.dir, 'cm');
      mkdirSync(join(vol, '..1'), { recursive: true });
      mkdirSync(join(vol, '..2'));
      writeFileSync(join(vol, '..1', 'warden.yaml'), 'log: { level: info }\n');
      writeFileSync(join(vol, '..2', 'warden.yaml'), 'log: { level: warn }\n');
      symlinkSync('..1', join(vol, '..data'));
      symlinkSync('..data/warden.yaml', join(vol, 'warden.yaml'));
      const path = join(vol, 'warden.yaml');
      const { w, changes } = watcher(path);
      w.poll();
      expect(changes).toEqual([]);
      symlinkSync('..2', join(vol, '..data_tmp'));
      renameSync(join(vol, '..data_tmp'), join(vol, '..data'));
      w.poll();
      w.poll();
      expect(changes).toEqual([path]);
    } finally {
      t.cleanup();
    }
  });
});
