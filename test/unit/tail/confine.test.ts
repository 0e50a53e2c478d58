import { closeSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../agent/health/metrics.js';
import { findByInode, openConfined, resolveRoot, Roots } from '../../../agent/tail/confine.js';
import { Discovery } from '../../../agent/tail/discovery.js';
import { createLogger } from '../../../core/log.js';
import { counter } from '../../support/index.js';
import { tailConfig } from '../../support/tail.js';

let dir = '';
let root = '';
let outside = '';
beforeEach(() => {
  // realpath: tmpdir() itself may be a symlink (macOS /tmp → /private/tmp).
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'warden-confine-')));
  root = join(dir, 'logs');
  outside = join(dir, 'outside');
  mkdirSync(join(root, 'pod'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'pod', '0.log'), 'inside\n');
  writeFileSync(join(outside, '0.log'), 'SECRET\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function roots(...paths: string[]): Promise<Roots> {
  const r = new Roots(paths);
  await r.resolve();
  return r;
}

describe('openConfined', () => {
  it('opens a file inside the roots that is the (dev, ino) classified', async () => {
    const p = join(root, 'pod', '0.log');
    const st = statSync(p);
    const opened = await openConfined(p, st.dev, st.ino, await roots(root));
    expect('fd' in opened).toBe(true);
    if ('fd' in opened) closeSync(opened.fd);
  });

  it('refuses what it opened through a directory swapped for a symlink out, even with the right (dev, ino)', async () => {
    // The race a classification cannot close: the path is checked, then a directory on it is swapped.
    rmSync(join(root, 'pod'), { recursive: true });
    symlinkSync(outside, join(root, 'pod'));
    const st = statSync(join(outside, '0.log'));
    const opened = await openConfined(join(root, 'pod', '0.log'), st.dev, st.ino, await roots(root));
    expect(opened).toEqual({ refused: 'outside_roots', target: join(outside, '0.log') });
  });

  it('reports another file at the path as replaced, a symlink as the last component as gone', async () => {
    const p = join(root, 'pod', '0.log');
    const st = statSync(p);
    expect(await openConfined(p, st.dev, st.ino + 1, await roots(root))).toEqual({ gone: 'replaced' });
    symlinkSync(p, join(root, 'link.log'));
    expect(await openConfined(join(root, 'link.log'), st.dev, st.ino, await roots(root))).toEqual({ gone: 'ELOOP' });
  });
});

describe('roots', () => {
  it('keep the resolution of a root they had: one created later as a symlink out allows nothing more; one resolving to / allows nothing', async () => {
    const late = join(dir, 'late');
    const first = await roots(late);
    symlinkSync(outside, late);
    const kept = new Roots([late], first);
    expect(await kept.resolve()).toEqual([]);
    expect(kept.contains(join(outside, '0.log'))).toBe(false);
    expect(kept.contains(join(late, '0.log'))).toBe(true);
    // Resolved anew, as a root first seen now: it is where the link points.
    expect((await roots(late)).contains(join(outside, '0.log'))).toBe(true);
    symlinkSync('/', join(dir, 'slash'));
    const whole = new Roots([root, join(dir, 'slash')]);
    expect(await whole.resolve()).toEqual([join(dir, 'slash')]);
    expect(whole.contains('/etc/passwd')).toBe(false);
    expect(whole.contains(join(root, 'pod', '0.log'))).toBe(true);
  });

  it('resolve through symlinks; a root not there yet resolves through its deepest existing ancestor', async () => {
    symlinkSync(root, join(dir, 'var-log'));
    expect(await resolveRoot(join(dir, 'var-log'))).toBe(root);
    expect(await resolveRoot(join(dir, 'var-log', 'not', 'yet'))).toBe(join(root, 'not', 'yet'));
    const r = await roots(join(dir, 'var-log'));
    expect(r.contains(join(root, 'pod', '0.log'))).toBe(true);
    // Never by the string: the link's own path is not where anything resolves.
    expect(r.contains(join(dir, 'var-log', 'pod', '0.log'))).toBe(false);
    expect(r.contains(join(outside, '0.log'))).toBe(false);
  });

  it('findByInode does not list a directory that resolves outside', async () => {
    const st = statSync(join(outside, '0.log'));
    expect(await findByInode(outside, st.dev, st.ino, await roots(root))).toEqual({ path: null, outside });
    const inside = statSync(join(root, 'pod', '0.log'));
    expect(await findByInode(join(root, 'pod'), inside.dev, inside.ino, await roots(root))).toEqual({ path: join(root, 'pod', '0.log') });
  });
});

describe('Discovery keeps to the roots', () => {
  function discovery(paths: string[], exclude: string[] = []) {
    const config = tailConfig(join(dir, 'state'), [root], [{ name: 'pods', paths, format: 'plain' }] as never, { exclude });
    const metrics = createMetrics({ defaults: false });
    return { d: new Discovery(config, createLogger('silent'), metrics), metrics };
  }

  it('an event path through a directory swapped for a symlink out is refused by its realpath, not accepted by its string', async () => {
    const { d, metrics } = discovery([join(root, '*/*.log')]);
    await d.init();
    expect((await d.scan()).map((c) => c.path)).toEqual([join(root, 'pod', '0.log')]);
    rmSync(join(root, 'pod'), { recursive: true });
    symlinkSync(outside, join(root, 'pod'));
    expect(await d.check(join(root, 'pod', '0.log'))).toBeNull();
    expect(await counter(metrics.refused, { reason: 'outside_roots' })).toBe(1);
    // The walk does not enter the symlink either.
    expect(await d.scan()).toEqual([]);
  });

  it('an excluded directory is not entered by the walk', async () => {
    mkdirSync(join(root, 'skip', 'deep'), { recursive: true });
    writeFileSync(join(root, 'skip', 'deep', 'x.log'), 'x\n');
    const { d } = discovery([join(root, '**/*.log')], [join(root, 'skip')]);
    await d.init();
    expect((await d.scan()).map((c) => c.path)).toEqual([join(root, 'pod', '0.log')]);
  });
});
