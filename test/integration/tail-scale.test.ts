// Many files under a descriptor cap, recovery of a file rotated while warden was down, and a huge
// line without a newline — with an in-memory acking sender (a fake for the Forward client).
import { appendFileSync, mkdirSync, openSync, readdirSync, renameSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import { TailPipeline } from '../../agent/tail/pipeline.js';
import { counter, captureLogger, waitFor } from '../support/index.js';
import { MemorySender, tailConfig, tailTree } from '../support/tail.js';

const tree = tailTree('warden-tscale-');

const fdCount = () => readdirSync('/proc/self/fd').length;

function pipeline(sender: { send: any; writable: any; on: any }, tail: Record<string, unknown>, glob: string) {
  const metrics = createMetrics({ defaults: false });
  const { logger, lines } = captureLogger();
  const config = tailConfig(tree.stateDir, [tree.logDir], [{ name: 'host', paths: [glob], format: 'plain' }], tail);
  return { p: new TailPipeline({ config, sender, logger, metrics, host: 'h' }), metrics, lines };
}

describe('tail at scale (in-memory acking sender)', () => {
  it('2,000 files in 500 directories with max_open_files 64: every line, never more than 64 descriptors', async () => {
    for (let d = 0; d < 500; d++) {
      const dir = join(tree.logDir, `d${d}`);
      mkdirSync(dir);
      for (let i = 0; i < 4; i++) appendFileSync(join(dir, `f${i}.log`), `d${d}f${i}-0\nd${d}f${i}-1\n`);
    }
    const sender = new MemorySender();
    const before = fdCount();
    const { p, metrics, lines } = pipeline(sender, { max_open_files: 64, rescan_interval_ms: 1000 }, join(tree.logDir, '*', '*.log'));
    let maxFds = 0;
    let maxOpen = 0;
    const probe = setInterval(async () => {
      maxFds = Math.max(maxFds, fdCount() - before);
      maxOpen = Math.max(maxOpen, (await metrics.openFiles.get()).values[0]?.value ?? 0);
    }, 5);
    try {
      await p.start();
      await waitFor('4000 records', () => sender.got.length >= 4000, 20_000);
      // A second round of writes reaches files closed under the cap.
      for (let d = 0; d < 500; d += 50) appendFileSync(join(tree.logDir, `d${d}`, 'f0.log'), `d${d}f0-2\n`);
      await waitFor('appended lines', () => sender.got.length >= 4010, 10_000);
    } finally {
      clearInterval(probe);
      await p.stop();
    }
    expect(new Set(sender.logs()).size).toBe(4010);
    expect(maxOpen).toBeLessThanOrEqual(64);
    // The pipeline's 64 plus the inotify descriptor, the checkpoint file and the process's own.
    expect(maxFds).toBeLessThan(64 + 40);
    expect(lines.join('\n')).not.toMatch(/ENOSPC|EMFILE/);
    expect(p.files()).toHaveLength(2000);
  });

  it('files beyond max_open_files wait for a descriptor: warden_tail_waiting_files counts them, 0 once all are read', async () => {
    const N = 12;
    const body = (i: number) => Array.from({ length: 2000 }, (_, k) => `w${i}-${k} ${'x'.repeat(100)}\n`).join('');
    for (let i = 0; i < N; i++) appendFileSync(join(tree.logDir, `w${i}.log`), body(i));
    const sender = new MemorySender();
    // Small reads keep every open file short of EOF for many turns, so none can be closed for the others.
    const { p, metrics } = pipeline(sender, { max_open_files: 8, read_chunk_bytes: 4096 }, join(tree.logDir, '*.log'));
    const gauge = async () => (await metrics.waitingFiles.get()).values[0]?.value ?? 0;
    let maxWaiting = 0;
    let maxOpen = 0;
    const probe = setInterval(async () => {
      maxWaiting = Math.max(maxWaiting, await gauge());
      maxOpen = Math.max(maxOpen, (await metrics.openFiles.get()).values[0]?.value ?? 0);
    }, 2);
    try {
      await p.start();
      await waitFor('every line', () => sender.got.length >= N * 2000, 20_000);
    } finally {
      clearInterval(probe);
    }
    try {
      expect(maxOpen).toBeLessThanOrEqual(8);
      expect(maxWaiting).toBeGreaterThanOrEqual(1);
      expect(maxWaiting).toBeLessThanOrEqual(N - 8);
      expect(await gauge()).toBe(0);
      expect(new Set(sender.logs()).size).toBe(N * 2000);
    } finally {
      await p.stop();
    }
  });

  it('a file rotated while warden was stopped is found by its inode and drained on restart', async () => {
    const f = join(tree.logDir, 'app.log');
    appendFileSync(f, 'a-0\na-1\n');
    const glob = join(tree.logDir, '*.log');
    const s1 = new MemorySender();
    const first = pipeline(s1, {}, glob);
    await first.p.start();
    await waitFor('first lines', () => s1.got.length >= 2);
    await first.p.stop();
    appendFileSync(f, 'a-2\na-3\n');
    renameSync(f, f + '.1');
    appendFileSync(f, 'b-0\n');
    const s2 = new MemorySender();
    const second = pipeline(s2, {}, glob);
    await second.p.start();
    try {
      await waitFor('rest of the rotated file and the new one', () => s2.got.length >= 3);
      await new Promise((r) => setTimeout(r, 200));
      expect(s2.logs().sort()).toEqual(['a-2', 'a-3', 'b-0']);
      expect(await counter(second.metrics.rotations, { kind: 'recovered' })).toBe(1);
    } finally {
      await second.p.stop();
    }
  });

  it('a 64 MiB line without a newline is split at max_line_bytes and does not lift RSS with it (child with a 32 MiB heap)', async () => {
    const f = join(tree.logDir, 'huge.log');
    const chunk = Buffer.alloc(1024 * 1024, 'z');
    const fd = openSync(f, 'w');
    for (let i = 0; i < 64; i++) writeSync(fd, chunk);
    closeSync(fd);
    const script = join(import.meta.dirname, '../fixtures/tail/huge-line.ts');
    const { stdout } = await execa('node', ['--max-old-space-size=32', '--max-semi-space-size=1', '--import', 'tsx', script, tree.stateDir, tree.logDir, String(63 * 1024 * 1024)], {
      timeout: 25_000,
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r.maxRecord).toBeLessThan(65536 + 200);
    expect(r.records).toBeGreaterThanOrEqual(1000);
    // Holding the line whole takes 64 MiB as bytes, and more again as a string.
    expect((r.hwmKb - r.rssStartKb) * 1024).toBeLessThan(40 * 1024 * 1024);
  }, 30_000);
});
