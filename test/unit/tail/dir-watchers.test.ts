import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { watch as fsWatch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirWatchers, POLL_PERIODS, REST_AFTER, type WatchEvent } from '../../../agent/tail/dir-watchers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(restMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-watch-'));
  dirs.push(dir);
  const events: Array<[WatchEvent, string]> = [];
  const unavailable: NodeJS.ErrnoException[] = [];
  const w = new DirWatchers({ onEvent: (e, p) => events.push([e, p]), onUnavailable: (err) => unavailable.push(err), restMs });
  return { dir, events, unavailable, w };
}

/**
 * Writes `f` a line at a time, up to `n` lines or until a directory rests; each write waits for its
 * event (or the rest), so the kernel coalesces none.
 */
async function writeEach(w: DirWatchers, events: Array<[WatchEvent, string]>, f: string, n: number): Promise<void> {
  for (let i = 0; i < n && w.restingCount === 0; i++) {
    const seen = events.length;
    appendFileSync(f, `w${i}\n`);
    await until(`the change of write ${i}`, () => events.length > seen || w.restingCount > 0);
  }
}

async function writeUntilResting(w: DirWatchers, events: Array<[WatchEvent, string]>, f: string): Promise<void> {
  await writeEach(w, events, f, REST_AFTER * 4);
  expect(w.restingCount).toBe(1);
}

/** A watched directory whose busy.log was written until the directory rests. */
async function resting(restMs: number) {
  const { dir, events, w } = setup(restMs);
  const f = join(dir, 'busy.log');
  writeFileSync(f, '');
  w.watch(dir);
  await writeUntilResting(w, events, f);
  return { dir, events, w, f };
}

const changesOf = (events: Array<[WatchEvent, string]>, p: string) => events.filter(([e, q]) => e === 'change' && q === p).length;

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

  describe('resting busy directories (restMs)', () => {
    it(`after ${REST_AFTER} writes in one period the watch rests; each wake() reports each file as changed, the ${POLL_PERIODS}th watches again`, async () => {
      const { dir, events, w } = setup(60_000);
      const f = join(dir, 'busy.log');
      const quiet = join(dir, 'quiet.log');
      writeFileSync(f, '');
      writeFileSync(quiet, '');
      mkdirSync(join(dir, 'sub'));
      w.watch(dir);
      await writeUntilResting(w, events, f);
      expect(changesOf(events, f)).toBe(REST_AFTER);
      // Written while resting: no event, no wake-up.
      appendFileSync(f, 'unseen\n');
      appendFileSync(quiet, 'unseen too\n');
      await new Promise((r) => setTimeout(r, 100));
      expect(changesOf(events, f)).toBe(REST_AFTER);
      expect(changesOf(events, quiet)).toBe(0);
      w.wake();
      // Both files may have been written unseen: both are reported; the subdirectory is not.
      expect(changesOf(events, f)).toBe(REST_AFTER + 1);
      expect(changesOf(events, quiet)).toBe(1);
      expect(events.some(([, p]) => p === join(dir, 'sub'))).toBe(false);
      // Still resting: a busy directory is listed at each wake, without a watch made or an event.
      expect(w.restingCount).toBe(1);
      appendFileSync(f, 'still unseen\n');
      await new Promise((r) => setTimeout(r, 100));
      expect(changesOf(events, f)).toBe(REST_AFTER + 1);
      for (let i = 2; i < POLL_PERIODS; i++) w.wake();
      expect(changesOf(events, f)).toBe(REST_AFTER + POLL_PERIODS - 1);
      expect(w.restingCount).toBe(1);
      w.wake();
      expect(w.restingCount).toBe(0);
      expect(changesOf(events, f)).toBe(REST_AFTER + POLL_PERIODS);
      // Watched again, and a new period: a write is an event again.
      appendFileSync(f, 'seen\n');
      await until('a change after the watch is made again', () => changesOf(events, f) === REST_AFTER + POLL_PERIODS + 1);
      w.close();
    });

    it('a name created while resting is reported as an entry at wake (the directory mtime moved)', async () => {
      const { dir, events, w, f } = await resting(60_000);
      const born = join(dir, 'born.log');
      writeFileSync(born, 'new\n');
      renameSync(f, `${f}.1`);
      await new Promise((r) => setTimeout(r, 100));
      expect(events.some(([, p]) => p === born)).toBe(false);
      w.wake();
      expect(events).toContainEqual(['entry', born]);
      expect(events).toContainEqual(['entry', `${f}.1`]);
      w.close();
    });

    it('without a wake() the directory is woken every restMs, reporting what may have been missed, and watched again in the end', async () => {
      const { events, w, f } = await resting(50);
      const before = changesOf(events, f);
      await until('the rest over', () => w.restingCount === 0, 10_000);
      expect(changesOf(events, f)).toBe(before + POLL_PERIODS);
      w.close();
    });

    it('a watch made again that sees the directory still busy rests again at once', async () => {
      let made = 0;
      const { dir, events } = setup(60_000);
      const w = new DirWatchers({ onEvent: (e, p) => events.push([e, p]), onUnavailable: () => undefined, restMs: 60_000, watchFn: ((...a: Parameters<typeof fsWatch>) => (made++, fsWatch(...a))) as typeof fsWatch });
      const f = join(dir, 'busy.log');
      writeFileSync(f, '');
      w.watch(dir);
      await writeUntilResting(w, events, f);
      for (let i = 0; i < POLL_PERIODS; i++) w.wake();
      expect(made).toBe(2);
      await writeUntilResting(w, events, f);
      for (let i = 1; i < POLL_PERIODS; i++) w.wake();
      // Two periods of POLL_PERIODS wakes each, one watch made for each: not one a wake.
      expect(made).toBe(2);
      expect(w.restingCount).toBe(1);
      w.close();
    });

    it('a directory replaced while resting is reported as an entry and no longer watched', async () => {
      const { dir, events, w } = setup(60_000);
      const sub = join(dir, 'sub');
      mkdirSync(sub);
      const f = join(sub, 'busy.log');
      writeFileSync(f, '');
      w.watch(sub);
      await writeUntilResting(w, events, f);
      // Made while the old one exists, so its inode differs.
      mkdirSync(`${sub}.new`);
      rmSync(sub, { recursive: true });
      renameSync(`${sub}.new`, sub);
      w.wake();
      expect(events).toContainEqual(['entry', sub]);
      expect(w.has(sub)).toBe(false);
      w.close();
    });

    it('without restMs a directory never rests', async () => {
      const { dir, events, w } = setup();
      const f = join(dir, 'busy.log');
      writeFileSync(f, '');
      w.watch(dir);
      await writeEach(w, events, f, REST_AFTER * 2);
      expect(changesOf(events, f)).toBe(REST_AFTER * 2);
      expect(w.restingCount).toBe(0);
      w.close();
    });
  });
});
