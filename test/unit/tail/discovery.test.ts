import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../agent/health/metrics.js';
import { Discovery, FULL_SCAN_EVERY, type Candidate } from '../../../agent/tail/discovery.js';
import { DirInodes } from '../../../agent/tail/rotations.js';
import { createLogger } from '../../../core/log.js';
import { tailConfig } from '../../support/tail.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/** Two container directories whose mtimes lie in the past: a rescan may trust them. */
function tree() {
  dir = mkdtempSync(join(tmpdir(), 'warden-discovery-'));
  const root = join(dir, 'containers');
  const files: string[] = [];
  for (const id of ['aaa', 'bbb']) {
    mkdirSync(join(root, id), { recursive: true });
    const f = join(root, id, `${id}-json.log`);
    writeFileSync(f, 'x\n');
    files.push(f);
  }
  const old = new Date(Date.now() - 60_000);
  for (const id of ['aaa', 'bbb']) utimesSync(join(root, id), old, old);
  utimesSync(root, old, old);
  const config = tailConfig(join(dir, 'state'), [root], [{ name: 'docker', paths: [join(root, '*/*-json.log')], format: 'docker' }] as never);
  const d = new Discovery(config, createLogger('silent'), createMetrics({ defaults: false }));
  return { root, files, d };
}

const byPath = (cs: Candidate[]) => new Map(cs.map((c) => [c.path, c]));

describe('Discovery rescans', () => {
  it('reuses the last classification of an unchanged directory until the next full pass, which sees growth', async () => {
    const { files, d } = tree();
    await d.init();
    const first = byPath(await d.scan());
    expect(first.get(files[0])).toMatchObject({ size: 2 });
    expect(first.get(files[0])!.reused).toBeUndefined();
    appendFileSync(files[0], 'more\n'); // growth: the directory's mtime does not move
    for (let i = 1; i < FULL_SCAN_EVERY; i++) {
      const c = byPath(await d.scan()).get(files[0])!;
      expect(c.reused).toBe(true);
      expect(c.size).toBe(2);
    }
    const full = byPath(await d.scan()).get(files[0])!;
    expect(full.reused).toBeUndefined();
    expect(full.size).toBe(7);
    // A truncation in place is seen by the full pass the same way.
    truncateSync(files[0], 0);
    for (let i = 1; i < FULL_SCAN_EVERY; i++) await d.scan();
    expect(byPath(await d.scan()).get(files[0])!.size).toBe(0);
  });

  it('a second glob over the same directories reuses their classification as the first does, and sees a new entry as soon as it', async () => {
    const { root, files, d } = tree();
    const rotatedOf = (f: string) => `${f}.1`;
    for (const f of files) writeFileSync(rotatedOf(f), 'r\n');
    const old = new Date(Date.now() - 60_000);
    for (const id of ['aaa', 'bbb']) utimesSync(join(root, id), old, old);
    const two = tailConfig(join(dir, 'state'), [root], [{ name: 'docker', paths: [join(root, '*/*-json.log'), join(root, '*/*-json.log.1')], format: 'docker' }] as never);
    d.configure(two);
    await d.init();
    const first = byPath(await d.scan());
    expect([...first.keys()].sort()).toEqual([...files, ...files.map(rotatedOf)].sort());
    for (const c of first.values()) expect(c.reused).toBeUndefined();
    const second = byPath(await d.scan());
    for (const f of [...files, ...files.map(rotatedOf)]) expect(second.get(f)!.reused, f).toBe(true);
    // An entry added under the second glob: its directory is listed again for both globs.
    rmSync(rotatedOf(files[0]));
    writeFileSync(rotatedOf(files[0]), 'a new file at the rotated path\n');
    const third = byPath(await d.scan());
    expect(third.get(rotatedOf(files[0]))).toMatchObject({ size: 31 });
    expect(third.get(rotatedOf(files[0]))!.reused).toBeUndefined();
    expect(third.get(files[0])!.reused).toBeUndefined();
    expect(third.get(rotatedOf(files[1]))!.reused).toBe(true);
    // The full pass lists the directories again for the second glob too, and sees growth there.
    appendFileSync(rotatedOf(files[1]), 'more\n');
    for (let i = 3; i < FULL_SCAN_EVERY; i++) expect(byPath(await d.scan()).get(rotatedOf(files[1]))!.size).toBe(2);
    const full = byPath(await d.scan()).get(rotatedOf(files[1]))!;
    expect(full.reused).toBeUndefined();
    expect(full.size).toBe(7);
  });

  it('lists a directory again as soon as an entry is added or removed', async () => {
    const { root, files, d } = tree();
    await d.init();
    await d.scan();
    await d.scan();
    const added = join(root, 'aaa', 'aaa-json.log.1');
    writeFileSync(added, 'rotated\n');
    rmSync(files[0]);
    writeFileSync(files[0], 'new file at the old path\n');
    const c = byPath(await d.scan());
    expect(c.get(files[0])).toMatchObject({ size: 25 });
    expect(c.get(files[0])!.reused).toBeUndefined();
    expect(c.get(files[1])!.reused).toBe(true);
    rmSync(join(root, 'bbb'), { recursive: true });
    expect(byPath(await d.scan()).has(files[1])).toBe(false);
  });

  it('never reuses a symlink: its target can be replaced while the link\'s directory stays unchanged', async () => {
    const { root, files } = tree();
    const links = join(dir, 'links');
    mkdirSync(links);
    symlinkSync(files[0], join(links, 'a.log'));
    const old = new Date(Date.now() - 60_000);
    utimesSync(links, old, old);
    const config = tailConfig(join(dir, 'state'), [root, links], [{ name: 'docker', paths: [join(links, '*.log')], format: 'docker' }] as never);
    const d = new Discovery(config, createLogger('silent'), createMetrics({ defaults: false }));
    await d.init();
    const before = byPath(await d.scan()).get(join(links, 'a.log'))!;
    expect(before.realPath).toBe(files[0]);
    // The target is replaced by a new file (a new inode) at the same path, as kubelet's rotation does.
    writeFileSync(files[0] + '.tmp', 'replaced\n');
    renameSync(files[0] + '.tmp', files[0]);
    const after = byPath(await d.scan()).get(join(links, 'a.log'))!;
    expect(after.ino).not.toBe(before.ino);
    expect(after.size).toBe(9);
    expect(after.reused).toBeUndefined();
  });
});

describe('the walk handed to the siblings\' pass', () => {
  const names = (listed: { path: string }[]) => listed.map((l) => l.path).sort();

  it('gives each walked directory\'s stamp and entries; a listing of it is the walk\'s, not a new readdir', async () => {
    const { root, files, d } = tree();
    await d.init();
    const aaa = join(root, 'aaa');
    const rotated = join(aaa, 'aaa-json.log.1');
    writeFileSync(rotated, 'rotated\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(aaa, old, old);
    await d.scan();
    const st = statSync(aaa);
    expect(d.walked(aaa)).toMatchObject({ mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino });
    expect(names(await d.listDir(aaa, new DirInodes()))).toEqual([files[0], rotated].sort());
    // A file that appeared after this scan's walk, its directory's stamp made to look unchanged,
    // is not in the listing: the walk's entries stand in for a readdir until the next scan stats it again.
    writeFileSync(join(aaa, 'aaa-json.log.2'), 'later\n');
    utimesSync(aaa, old, old);
    expect(names(await d.listDir(aaa, new DirInodes()))).toEqual([files[0], rotated].sort());
    // No walk of this scan entered the prefix's parent.
    expect(d.walked(dir)).toBeUndefined();
  });

  it('not a directory changed too recently for its stamp to be trusted: that one is stat\'ed and listed again', async () => {
    const { root, d } = tree();
    await d.init();
    const bbb = join(root, 'bbb');
    writeFileSync(join(bbb, 'bbb-json.log.1'), 'just rotated\n');
    await d.scan();
    expect(d.walked(bbb)).toBeUndefined();
    expect(names(await d.listDir(bbb, new DirInodes()))).toContain(join(bbb, 'bbb-json.log.1'));
  });

  it('not a directory walked through a symlinked prefix: its path is not its realpath', async () => {
    const { root } = tree();
    const link = join(dir, 'link');
    symlinkSync(root, link);
    const config = tailConfig(join(dir, 'state'), [root], [{ name: 'docker', paths: [join(link, '*/*-json.log')], format: 'docker' }] as never);
    const d = new Discovery(config, createLogger('silent'), createMetrics({ defaults: false }));
    await d.init();
    expect((await d.scan()).map((c) => c.path).sort()).toEqual([join(link, 'aaa', 'aaa-json.log'), join(link, 'bbb', 'bbb-json.log')]);
    expect(d.walked(join(link, 'aaa'))).toBeUndefined();
    expect(d.walked(join(root, 'aaa'))).toBeUndefined();
  });

  it('an unchanged directory keeps its memo from scan to scan, and a full pass that lists the same entries keeps them', async () => {
    const { root, files, d } = tree();
    await d.init();
    const aaa = join(root, 'aaa');
    await d.scan();
    const first = d.walked(aaa)!;
    for (let i = 1; i < FULL_SCAN_EVERY; i++) {
      await d.scan();
      expect(d.walked(aaa)).toBe(first);
    }
    await d.scan(); // a full pass: listed again, the same names
    const full = d.walked(aaa)!;
    expect(full.entries).toBe(first.entries);
    // An entry added before the next full pass: that pass's listing is a new one, holding it.
    for (let i = 1; i < FULL_SCAN_EVERY; i++) await d.scan();
    const rotated = join(aaa, 'aaa-json.log.1');
    writeFileSync(rotated, 'rotated\n');
    const old = new Date(Date.now() - 60_000);
    utimesSync(aaa, old, old);
    await d.scan();
    const after = d.walked(aaa)!;
    expect(after.entries).not.toBe(first.entries);
    expect(after.entries.map((e) => e.path).sort()).toEqual([files[0], rotated].sort());
  });

  it('a walked directory the roots no longer hold (a reload since the scan) is refused, not listed', async () => {
    const { root, d } = tree();
    await d.init();
    await d.scan();
    const aaa = join(root, 'aaa');
    expect(d.walked(aaa)).toBeDefined();
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    d.configure(tailConfig(join(dir, 'state'), [elsewhere], [{ name: 'docker', paths: [join(elsewhere, '*/*-json.log')], format: 'docker' }] as never));
    await d.init();
    expect(await d.listDir(aaa, new DirInodes())).toEqual([]);
  });
});
