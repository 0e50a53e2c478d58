// supervisor/procfs over a /proc tree written to a temp dir: the one stat parser, the bounded
// read, the line-at-a-time read, and one walk shared by the budget sampler and the child's escaped-descendant tracking.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TreeSampler } from '../../../supervisor/budgets/proc.js';
import { forEachLine, MAX_LINE_BYTES, readBytes, readText } from '../../../supervisor/procfs/read.js';
import { listeningInodes } from '../../../supervisor/procfs/sockets.js';
import { parseStat } from '../../../supervisor/procfs/stat.js';
import { escapedFrom, TreeWalker } from '../../../supervisor/procfs/tree.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** pid, ppid, pgrp, state; utime grows with `ticks`. */
function fakeProc(procs: [number, number, number, string][], ticks = 0): void {
  for (const [pid, ppid, pgrp, state] of procs) {
    mkdirSync(join(dir, String(pid), 'task', String(pid)), { recursive: true });
    const f = [state, ppid, pgrp, pgrp, 0, -1, 0, 0, 0, 0, 0, ticks, 0, 0, 0, 20, 0, 1, 0, 1000 + pid, 0, 100];
    writeFileSync(join(dir, String(pid), 'stat'), `${pid} (sh) ${f.join(' ')}\n`);
    writeFileSync(join(dir, String(pid), 'task', String(pid), 'children'), procs.filter((c) => c[1] === pid).map((c) => c[0]).join(' '));
  }
}

describe('procfs', () => {
  it('parses a short stat line (identity fields only) and refuses one without them', () => {
    expect(parseStat('7 (a b) S 1 7 7 0')).toMatchObject({ pid: 7, state: 'S', ppid: 1, pgrp: 7, utime: 0, starttime: 0 });
    expect(parseStat('7 (x) S one 7')).toBeNull();
    expect(parseStat('garbage')).toBeNull();
  });

  it('reads at most maxBytes, and null for a file that is not there', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-procfs-'));
    writeFileSync(join(dir, 'big'), 'x'.repeat(100_000));
    expect(readText(join(dir, 'big'), 10)).toBe('x'.repeat(10));
    expect(readText(join(dir, 'big'))!.length).toBe(100_000);
    expect(readText(join(dir, 'gone'))).toBeNull();
  });

  it('reads share one buffer: a big file whole, then a small one exact, and what was handed out keeps its bytes', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-procfs-'));
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
    writeFileSync(join(dir, 'big'), big);
    writeFileSync(join(dir, 'small'), 'small\n');
    const a = readBytes(join(dir, 'big'))!;
    expect(a.equals(big)).toBe(true);
    expect(readBytes(join(dir, 'big'), 200_000)!.equals(big.subarray(0, 200_000))).toBe(true);
    expect(readText(join(dir, 'small'))).toBe('small\n');
    const b = readBytes(join(dir, 'small'))!;
    expect(readText(join(dir, 'big'), 5)).toBe(big.subarray(0, 5).toString('utf8'));
    expect(b.toString()).toBe('small\n');
    expect(a.equals(big)).toBe(true);
  });

  it('passes every line of a file far bigger than its buffers, lines split across reads and multi-byte characters whole', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-procfs-'));
    // Lengths 0 to 40,000 bytes: some lines cross one 16 KiB read, some several; é is 2 bytes.
    const lines = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? '' : `${i} ${'é'.repeat((i * 7919) % (i % 100 === 1 ? 20_000 : 300))}`));
    const text = lines.join('\n');
    writeFileSync(join(dir, 'with-newline'), `${text}\n`);
    writeFileSync(join(dir, 'without'), text);
    for (const name of ['with-newline', 'without']) {
      const got: string[] = [];
      expect(forEachLine(join(dir, name), (l) => void got.push(l))).toBe(true);
      expect(got.length).toBe(lines.length);
      expect(got).toEqual(lines);
    }
  });

  it('cuts a line longer than its bound, stops when told, and is false for a file that is not there', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-procfs-'));
    writeFileSync(join(dir, 'long'), `${'a'.repeat(100_000)}\nnext\nlast\n`);
    const got: string[] = [];
    forEachLine(join(dir, 'long'), (l) => void got.push(l), 1000);
    expect(got).toEqual(['a'.repeat(1000), 'next', 'last']);
    const seen: string[] = [];
    expect(forEachLine(join(dir, 'long'), (l) => (seen.push(l), l === 'next'))).toBe(true);
    expect(seen.map((l) => l.length)).toEqual([MAX_LINE_BYTES, 4]);
    expect(forEachLine(join(dir, 'gone'), () => undefined)).toBe(false);
  });

  it('finds a listener on the last line of a socket table bigger than a whole read keeps', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-procfs-'));
    mkdirSync(join(dir, 'net'));
    const row = (sl: number, port: number, st: string, inode: number) =>
      `${String(sl).padStart(4)}: 0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 ${st} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
    const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
    const rows = Array.from({ length: 20_000 }, (_, i) => row(i, 40_000 + (i % 1000), '01', 100_000 + i));
    writeFileSync(join(dir, 'net/tcp'), [head, ...rows, row(20_000, 24224, '0A', 777)].join('\n') + '\n');
    writeFileSync(join(dir, 'net/tcp6'), `${head}\n`);
    expect(readText(join(dir, 'net/tcp'))!.length).toBeLessThan(rows.join('\n').length);
    expect([...listeningInodes(24224, dir)]).toEqual(['777']);
    expect([...listeningInodes(40_001, dir)]).toEqual([]);
  });

  it('the child tracking reuses the sampler\'s walk while it is fresh, and walks again when it is not', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-procfs-'));
    fakeProc([
      [10, 1, 10, 'S'],
      [11, 10, 10, 'S'],
      [12, 11, 12, 'S'], // left the group (setsid)
      [13, 11, 13, 'Z'], // left it too, but a zombie
    ]);
    let t = 0;
    const walker = new TreeWalker({ procRoot: dir, now: () => t });
    const sampler = new TreeSampler({ walker, clkTck: 100, pageSize: 4096, pss: false });
    expect(sampler.sample(10)!.pids).toEqual([10, 11, 12, 13]);
    fakeProc([[14, 10, 14, 'S']]); // appears after the sampler's walk
    rmSync(join(dir, '10', 'task', '10', 'children'));
    writeFileSync(join(dir, '10', 'task', '10', 'children'), '11 14');
    t = 900;
    const shared = walker.latest(10, 1000);
    expect(shared.at).toBe(0);
    expect(escapedFrom(10, shared.procs).map((p) => p.pid)).toEqual([12]);
    t = 1500;
    expect(escapedFrom(10, walker.latest(10, 1000).procs).map((p) => p.pid)).toEqual([14, 12]);
  });
});
