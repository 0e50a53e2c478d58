// The mark on the child's processes (WARDEN_CHILD=<token>.<run>), and how marked processes are
// found in /proc: real processes, each with an environment of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MARKER_ENV, markedWith, markerValue, newToken, parseMarker } from '../../../supervisor/child/marker.js';
import { isLeftoverMark, markedLeftovers } from '../../../supervisor/child/leftovers.js';
import { EnvironMemo, environValue } from '../../../supervisor/procfs/environ.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) p.kill('SIGKILL');
});

/** A process that idles with exactly `env` (plus PATH), up once it has printed. */
async function idle(env: Record<string, string>): Promise<number> {
  const p = spawn(process.execPath, ['-e', "console.log('up'); setInterval(() => {}, 1000)"], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(p);
  await new Promise((r) => p.stdout!.once('data', r));
  return p.pid!;
}

describe('the marker value', () => {
  it('is <32 hex>.<run>, fresh for each token, and parses back', () => {
    const a = newToken();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(newToken()).not.toBe(a);
    expect(parseMarker(markerValue(a, 7))).toEqual({ token: a, run: 7 });
  });

  it.each(['', 'x', `${'0'.repeat(32)}`, `${'0'.repeat(32)}.`, `${'0'.repeat(32)}.0`, `${'0'.repeat(31)}.1`, `${'A'.repeat(32)}.1`, ` ${'0'.repeat(32)}.1`, `${'0'.repeat(32)}.1 `])('%j is no marker', (v) => {
    expect(parseMarker(v)).toBeNull();
  });

  it('a leftover is a mark of this warden of another run, or of the warden before; never the running child\'s, another warden\'s, or none', () => {
    const marks = { token: newToken(), since: 0, previous: { token: newToken(), since: 0 } };
    const current = markerValue(marks.token, 3);
    expect(isLeftoverMark(markerValue(marks.token, 2), marks, current)).toBe(true);
    expect(isLeftoverMark(markerValue(marks.previous.token, 9), marks, current)).toBe(true);
    expect(isLeftoverMark(current, marks, current)).toBe(false);
    expect(isLeftoverMark(markerValue(newToken(), 2), marks, current)).toBe(false);
    expect(isLeftoverMark(null, marks, current)).toBe(false);
    expect(isLeftoverMark('garbage', marks, current)).toBe(false);
  });
});

describe('marked processes in /proc', () => {
  it('environValue reads a variable only at the start of an entry', async () => {
    const token = newToken();
    const pid = await idle({ OTHER: `x${MARKER_ENV}=${markerValue(token, 1)}`, [MARKER_ENV]: markerValue(token, 2) });
    expect(environValue(pid, MARKER_ENV)).toBe(markerValue(token, 2));
    const only = await idle({ OTHER: `x${MARKER_ENV}=${markerValue(token, 1)}` });
    expect(environValue(only, MARKER_ENV)).toBeNull();
    expect(environValue(only, 'OTHER')).toBe(`x${MARKER_ENV}=${markerValue(token, 1)}`);
  });

  it('markedWith finds every process carrying the token, of any run, and no other', async () => {
    const token = newToken();
    const [a, b] = [await idle({ [MARKER_ENV]: markerValue(token, 1) }), await idle({ [MARKER_ENV]: markerValue(token, 4) })];
    const other = await idle({ [MARKER_ENV]: markerValue(newToken(), 1) });
    const spoof = await idle({ [MARKER_ENV]: `${token}.1x`, [`${MARKER_ENV}_X`]: markerValue(token, 1) });
    const none = await idle({});
    const found = markedWith([token]);
    expect(found.map((p) => p.pid).sort()).toEqual([a, b].sort());
    expect(found.find((p) => p.pid === a)).toMatchObject({ value: markerValue(token, 1), comm: 'node', pgrp: expect.any(Number), starttime: expect.any(Number) });
    for (const pid of [other, spoof, none, process.pid]) expect(found.map((p) => p.pid)).not.toContain(pid);
    expect(markedWith(['not a token'])).toEqual([]);
    // Only processes started since a given time are read: a warden's children start after it.
    expect(markedWith([token], undefined, Math.max(...found.map((p) => p.starttime)) + 1)).toEqual([]);
  });

  it('markedLeftovers takes the warden before\'s only from processes started since it started', async () => {
    const marks = { token: newToken(), since: 0, previous: { token: newToken(), since: 0 } };
    const pid = await idle({ [MARKER_ENV]: markerValue(marks.previous.token, 1) });
    const found = markedLeftovers(marks);
    expect(found.map((p) => p.pid)).toEqual([pid]);
    expect(markedLeftovers({ ...marks, previous: { ...marks.previous, since: found[0]!.starttime + 1 } })).toEqual([]);
    // This warden's own are its whatever their start time.
    const ours = await idle({ [MARKER_ENV]: markerValue(marks.token, 1) });
    expect(markedLeftovers({ ...marks, previous: null }).map((p) => p.pid)).toEqual([ours]);
  });

  it('with an EnvironMemo, each process\'s environment is read once across scans; a new process, or a pid reused, is read; one gone is forgotten', () => {
    // A proc tree of files: the counts must not depend on what else runs on the machine.
    const root = mkdtempSync(join(tmpdir(), 'warden-proc-'));
    try {
      const token = newToken();
      const proc = (pid: number, starttime: number, env: Record<string, string>) => {
        mkdirSync(join(root, String(pid)), { recursive: true });
        writeFileSync(join(root, String(pid), 'stat'), `${pid} (node) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${starttime} 0 0\n`);
        writeFileSync(join(root, String(pid), 'comm'), 'node\n');
        writeFileSync(join(root, String(pid), 'environ'), Object.entries(env).map(([k, v]) => `${k}=${v}\0`).join(''));
      };
      for (const pid of [101, 102, 103]) proc(pid, pid, { PATH: '/bin', [MARKER_ENV]: markerValue(token, pid - 100) });
      for (const pid of [104, 105, 106]) proc(pid, pid, { PATH: '/bin' });
      const memo = new EnvironMemo();
      const first = markedWith([token], root, 0, memo);
      expect(first.map((p) => p.pid)).toEqual([101, 102, 103]);
      expect(memo.reads).toBe(6);
      // The same processes: the same answer as a scan without memo, no environment read again.
      expect(markedWith([token], root, 0, memo)).toEqual(first);
      expect(markedWith([token], root)).toEqual(first);
      expect(memo.reads).toBe(6);
      proc(107, 107, { [MARKER_ENV]: markerValue(token, 4) });
      // 104's pid reused by a marked process: another start time, read anew.
      proc(104, 1104, { [MARKER_ENV]: markerValue(token, 5) });
      expect(markedWith([token], root, 0, memo).map((p) => p.pid)).toEqual([101, 102, 103, 104, 107]);
      expect(memo.reads).toBe(8);
      rmSync(join(root, '101'), { recursive: true });
      expect(markedWith([token], root, 0, memo).map((p) => p.pid)).toEqual([102, 103, 104, 107]);
      expect(memo.size).toBe(6);
      expect(memo.reads).toBe(8);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
