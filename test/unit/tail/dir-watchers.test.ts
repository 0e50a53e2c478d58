import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { watch as fsWatch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirWatchers, type WatchEvent } from '../../../agent/tail/dir-watchers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'warden-watch-'));
  dirs.push(dir);
  const events: Array<[WatchEvent, string]> = [];
  const unavailable: NodeJS.ErrnoException[] = [];
  const w = new DirWatchers({ onEvent: (e, p) => events.push([e, p]), onUnavailable: (err) => unavailable.push(err) });
  return { dir, events, unavailable, w };
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('DirWatchers', () => {
  it('a write to a file in a watched directory is a change of that path', async () => {
    const { dir, events, w } = setup();
    const f = join(dir, 'a.log');
    writeFileSync(f, '');
    expect(w.watch(dir)).toBe(true);
    appendFileSync(f, 'line\n');
    await until('the change', () => events.some(([e, p]) => e === 'change' && p === f));
    w.close();
  });

  it('a created, renamed or deleted name is an entry', async () => {
    const { dir, events, w } = setup();
    w.watch(dir);
    const f = join(dir, 'new.log');
    writeFileSync(f, 'x\n');
    await until('the created name', () => events.some(([e, p]) => e === 'entry' && p === f));
    renameSync(f, `${f}.1`);
    await until('both names of the rename', () => events.some(([e, p]) => e === 'entry' && p === `${f}.1`) && events.filter(([e, p]) => e === 'entry' && p === f).length >= 2);
    rmSync(`${f}.1`);
    await until('the deleted name', () => events.filter(([e, p]) => e === 'entry' && p === `${f}.1`).length >= 2);
    w.close();
  });

  it('a removed directory drops its watch and is reported as an entry; a missing one cannot be watched', async () => {
    const { dir, events, unavailable, w } = setup();
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    expect(w.watch(sub)).toBe(true);
    rmSync(sub, { recursive: true });
    await until('the watch dropped', () => !w.has(sub));
    expect(events).toContainEqual(['entry', sub]);
    expect(w.watch(join(dir, 'missing'))).toBe(false);
    expect(w.available()).toBe(true);
    expect(unavailable).toEqual([]);
  });

  it('kernel limits (ENOSPC) end watching once: every watch closed, told once, no more watches', () => {
    const { dir, unavailable } = setup();
    let made = 0;
    const watchFn = ((path: string, opts: object, cb: never) => {
      if (++made > 2) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      return fsWatch(path, opts, cb);
    }) as unknown as typeof fsWatch;
    const w = new DirWatchers({ onEvent: () => {}, onUnavailable: (err) => unavailable.push(err), watchFn });
    for (const n of ['a', 'b', 'c', 'd']) mkdirSync(join(dir, n));
    expect(w.watch(join(dir, 'a'))).toBe(true);
    expect(w.watch(join(dir, 'b'))).toBe(true);
    expect(w.watch(join(dir, 'c'))).toBe(false);
    expect(w.watch(join(dir, 'd'))).toBe(false);
    expect(w.size).toBe(0);
    expect(w.available()).toBe(false);
    expect(unavailable.map((e) => e.code)).toEqual(['ENOSPC']);
  });
});
