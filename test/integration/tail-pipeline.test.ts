// The tail pipeline over real temp trees with an in-memory acking sender (a fake for the Forward
// client; tail-forward.test.ts runs the real client into the real sink).
import { appendFileSync, statSync, closeSync, openSync, readdirSync, readlinkSync, writeSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.js';
import { createMetrics } from '../../agent/health/metrics.js';
import { TailPipeline } from '../../agent/tail/pipeline.js';
import { counter, captureLogger, waitFor } from '../support/index.js';
import { caughtUp, MemorySender, tailConfig, pipelineScope, tailTree } from '../support/tail.js';

const tree = tailTree('warden-tail-');
const pipelines = pipelineScope(tree);

function plainInput(glob = join(tree.logDir, '*.log')): Config['inputs'] {
  return [{ name: 'host', paths: [glob], format: 'plain' }];
}

const startPipeline = (opts: Omit<Parameters<typeof pipelines.start>[0], 'inputs'> & { inputs?: Config['inputs'] } = {}) => pipelines.start({ ...opts, inputs: opts.inputs ?? plainInput() });
const stopPipeline = pipelines.stop;

const lines = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);
const write = (path: string, ls: string[]) => appendFileSync(path, ls.map((l) => l + '\n').join(''));

function checkpointOffset(path: string): number | undefined {
  if (!existsSync(join(tree.stateDir, 'checkpoints.json'))) return undefined;
  const cp = JSON.parse(readFileSync(join(tree.stateDir, 'checkpoints.json'), 'utf8'));
  return cp.files.find((f: any) => f.path === path)?.offset;
}

describe('tail pipeline (in-memory acking sender)', () => {
  it('delivers every line with tag and host, and commits the offset after acks', async () => {
    const f = join(tree.logDir, 'app.log');
    write(f, lines('a', 0, 100));
    const { p, sender } = await startPipeline();
    await waitFor('100 records', () => sender.got.length >= 100);
    write(f, lines('a', 100, 200));
    await waitFor('200 records', () => sender.got.length >= 200);
    expect(sender.logs()).toEqual(lines('a', 0, 200));
    expect(sender.got[0]).toMatchObject({ tag: 'host.app', record: { log: 'a-0', host: 'node-1' } });
    expect(sender.got[0].record).not.toHaveProperty('stream');
    const size = readFileSync(f).length;
    await waitFor('checkpoint at file size', () => checkpointOffset(f) === size);
    expect(p.files()).toEqual([expect.objectContaining({ path: f, input: 'host', offset: size, size, lag: 0, state: 'active' })]);
    expect(p.lagBytes()).toBe(0);
  });

  it('a file created and rotated away while reading is paused (child down) is still drained after resume', async () => {
    const f = join(tree.logDir, 'app.log');
    write(f, lines('a', 0, 10));
    const { p, sender } = await startPipeline({ tail: { rescan_interval_ms: 100 } });
    await waitFor('first file read', () => sender.got.length >= 10);
    p.pause();
    // kubelet-style rotation twice while paused: the middle file is adopted but never opened.
    const adopted = () => {
      const ino = String(statSync(f).ino);
      return waitFor(`${f} (inode ${ino}) known`, () => p.files().some((x) => x.identity.split(':')[1] === ino));
    };
    renameSync(f, `${f}.1`);
    write(f, lines('b', 0, 50));
    await adopted();
    renameSync(f, `${f}.2`);
    write(f, lines('c', 0, 5));
    await adopted();
    p.resume();
    await waitFor('every line of all three files', () => sender.got.length >= 65);
    expect(sender.logs().filter((l) => l.startsWith('b-'))).toEqual(lines('b', 0, 50));
  });

  it('acks withheld: the checkpoint does not advance; released: it does', async () => {
    const f = join(tree.logDir, 'app.log');
    const sender = new MemorySender();
    writeFileSync(f, '');
    const { p, metrics } = await startPipeline({ sender });
    await waitFor('first checkpoint', () => checkpointOffset(f) !== undefined);
    sender.hold = true;
    write(f, lines('b', 0, 50));
    await waitFor('records sent', () => sender.got.length >= 50);
    // The lag gauge is set by the housekeeping tick, the one that would also have committed them.
    await waitFor('a housekeeping tick after the reads', async () => (await counter(metrics.lagBytes)) === readFileSync(f).length);
    expect(checkpointOffset(f)).toBe(0);
    expect(p.lagBytes()).toBe(readFileSync(f).length);
    sender.release();
    await waitFor('checkpoint after release', () => checkpointOffset(f) === readFileSync(f).length);
  });

  it('resumes after a restart over the same state_dir and sends only the rest', async () => {
    const f = join(tree.logDir, 'app.log');
    write(f, lines('c', 0, 30));
    const first = await startPipeline();
    await waitFor('30 records', () => first.sender.got.length >= 30);
    await stopPipeline(first.p);
    write(f, lines('c', 30, 60));
    const second = await startPipeline();
    await caughtUp(second.p, f);
    expect(second.sender.logs()).toEqual(lines('c', 30, 60));
  });

  it('read_from end applies only to files there at the very first start; later files are read from 0', async () => {
    const old = join(tree.logDir, 'old.log');
    write(old, lines('old', 0, 10));
    const { sender, p } = await startPipeline({ tail: { read_from: 'end' } });
    await caughtUp(p, old);
    expect(sender.got).toEqual([]);
    write(old, ['old-new']);
    const fresh = join(tree.logDir, 'fresh.log');
    write(fresh, lines('fresh', 0, 5));
    await waitFor('new lines', () => sender.got.length >= 6);
    expect(sender.logs().filter((l) => l.startsWith('old'))).toEqual(['old-new']);
    expect(sender.logs().filter((l) => l.startsWith('fresh'))).toEqual(lines('fresh', 0, 5));
  });

  it('read_from head reads files already there from the start', async () => {
    write(join(tree.logDir, 'old.log'), lines('old', 0, 10));
    const { sender } = await startPipeline({ tail: { read_from: 'head' } });
    await waitFor('old lines', () => sender.got.length >= 10);
    expect(sender.logs()).toEqual(lines('old', 0, 10));
  });

  it('kubelet rotation: 0.log renamed to 0.log.<ts> and a new 0.log, behind a /var/log/containers symlink', async () => {
    const podDir = join(tree.logDir, 'pods', 'ns1_web-1_uid-1', 'app');
    const links = join(tree.logDir, 'containers');
    mkdirSync(podDir, { recursive: true });
    mkdirSync(links);
    const target = join(podDir, '0.log');
    const cri = (s: string) => `2024-01-01T00:00:00.000000001Z stdout F ${s}`;
    writeFileSync(target, lines('k', 0, 20).map(cri).join('\n') + '\n');
    symlinkSync(target, join(links, 'web-1_ns1_app-' + 'a'.repeat(64) + '.log'));
    const { sender, metrics } = await startPipeline({ inputs: [{ name: 'containers', paths: [join(links, '*.log')], format: 'auto' }] });
    await waitFor('first lines', () => sender.got.length >= 20);
    appendFileSync(target, lines('k', 20, 30).map(cri).join('\n') + '\n');
    renameSync(target, target + '.20240101-000000');
    writeFileSync(target, lines('k', 30, 40).map(cri).join('\n') + '\n');
    await waitFor('all lines', () => sender.got.length >= 40);
    expect(new Set(sender.logs())).toEqual(new Set(lines('k', 0, 40)));
    expect(sender.got[0]).toMatchObject({
      tag: 'kube.ns1.web-1.app',
      sec: 1704067200,
      nsec: 1,
      record: { kubernetes: { namespace_name: 'ns1', pod_name: 'web-1', pod_uid: 'uid-1', container_name: 'app' } },
    });
    expect(await counter(metrics.rotations)).toBeGreaterThanOrEqual(1);
  });

  it('docker rotation: x-json.log shifted to .1, .2 while lines keep coming', async () => {
    const id = 'b'.repeat(64);
    const cdir = join(tree.logDir, id);
    mkdirSync(cdir);
    const f = join(cdir, `${id}-json.log`);
    const dj = (s: string) => JSON.stringify({ log: s + '\n', stream: 'stdout', time: '2024-01-01T00:00:00.5Z' });
    const { sender, metrics } = await startPipeline({ inputs: [{ name: 'docker', paths: [join(tree.logDir, '*', '*-json.log')], format: 'docker' }] });
    let n = 0;
    for (let round = 0; round < 3; round++) {
      writeFileSync(f, '', { flag: 'a' });
      // A file is found before it rotates (docker rotates at max-size, not within milliseconds);
      // the lines written just before the rename are read from the rotated file's descriptor.
      for (let i = 0; i < 10; i++) appendFileSync(f, dj(`d-${n++}`) + '\n');
      const seen = n;
      await waitFor('file found', () => sender.got.length >= seen);
      for (let i = 0; i < 10; i++) appendFileSync(f, dj(`d-${n++}`) + '\n');
      if (existsSync(f + '.1')) renameSync(f + '.1', f + '.2');
      renameSync(f, f + '.1');
    }
    writeFileSync(f, dj(`d-${n++}`) + '\n');
    await waitFor(`${n} docker lines`, () => new Set(sender.logs()).size >= n);
    expect(new Set(sender.logs())).toEqual(new Set(lines('d', 0, n)));
    expect(sender.got[0]).toMatchObject({ tag: `docker.${id}`, record: { docker: { container_id: id }, stream: 'stdout' } });
    await waitFor('three docker rotations', async () => (await counter(metrics.rotations, { kind: 'docker' })) === 3);
  });

  it('copytruncate: a file shorter than its offset is read again from 0 and counted', async () => {
    const f = join(tree.logDir, 'app.log');
    write(f, lines('t', 0, 20));
    const { sender, metrics } = await startPipeline();
    await waitFor('first lines', () => sender.got.length >= 20);
    truncateSync(f, 0);
    await waitFor('the truncation seen', async () => (await counter(metrics.truncations)) === 1);
    write(f, lines('u', 0, 5));
    await waitFor('lines after truncate', () => sender.logs().includes('u-4'));
    expect(sender.logs().filter((l) => l.startsWith('u'))).toEqual(lines('u', 0, 5));
    expect(await counter(metrics.truncations)).toBe(1);
  });

  it('a file deleted while being read is finished from the open descriptor', async () => {
    const f = join(tree.logDir, 'app.log');
    write(f, lines('del', 0, 5));
    const { sender, metrics } = await startPipeline();
    await waitFor('first lines', () => sender.got.length >= 5);
    const fd = openSync(f, 'a');
    unlinkSync(f);
    writeSync(fd, lines('del', 5, 10).map((l) => l + '\n').join(''));
    closeSync(fd);
    await waitFor('lines written after unlink', () => sender.got.length >= 10);
    expect(sender.logs()).toEqual(lines('del', 0, 10));
    await waitFor('deleted rotation counted', async () => (await counter(metrics.rotations, { kind: 'deleted' })) === 1);
  });

  it('a file deleted while open is drained at stop: its unterminated last line arrives flagged partial, nothing counted lost', async () => {
    const f = join(tree.logDir, 'app.log');
    appendFileSync(f, 'gone-0\ngone-last');
    const { p, sender, metrics } = await startPipeline();
    await waitFor('first line', () => sender.logs().includes('gone-0'));
    // The descriptor is the only reference left; a restart could not find it in the checkpoint.
    const fd = openSync(f, 'a');
    unlinkSync(f);
    writeSync(fd, '\ngone-1\ngone-tail');
    closeSync(fd);
    await stopPipeline(p);
    expect(sender.logs()).toEqual(['gone-0', 'gone-last', 'gone-1', 'gone-tail']);
    // Its end never arrived: flagged; the lines before it are whole.
    expect(sender.got.map((g) => g.record.partial)).toEqual([undefined, undefined, undefined, true]);
    expect(await counter(metrics.bytesLost)).toBe(0);
    expect(await counter(metrics.rotations, { kind: 'deleted' })).toBe(1);
  });

  it('a file rotated while stopped and renamed again before it was opened (docker shift) is found by its inode', async () => {
    const f = join(tree.logDir, 'app.log');
    appendFileSync(f, 'shift-0\n');
    const first = await startPipeline();
    await waitFor('first line committed', () => checkpointOffset(f) === 'shift-0\n'.length);
    await stopPipeline(first.p);
    appendFileSync(f, 'shift-1\nshift-last');
    renameSync(f, f + '.1');
    write(f, ['new-0']);
    // Paused: recovered at start from the checkpoint (as .1) but not opened before the next shift.
    const sender = new MemorySender();
    const metrics = createMetrics({ defaults: false });
    const p = new TailPipeline({ config: tailConfig(tree.stateDir, [tree.logDir], plainInput()), sender, logger: captureLogger().logger, metrics, host: 'h' });
    pipelines.track(p);
    p.pause();
    await p.start();
    expect(await counter(metrics.rotations, { kind: 'recovered' })).toBe(1);
    renameSync(f + '.1', f + '.2');
    p.resume();
    await waitFor('the rest of the rotated file, its last line flushed once drained', () => sender.logs().includes('shift-last'));
    expect(sender.logs().filter((l) => l.startsWith('shift'))).toEqual(['shift-1', 'shift-last']);
    expect(sender.logs()).toContain('new-0');
    expect(await counter(metrics.bytesLost)).toBe(0);
  });

  it('inode reuse: a checkpoint whose fingerprint no longer matches means a new file read from 0', async () => {
    const f = join(tree.logDir, 'app.log');
    write(f, lines('orig', 0, 10));
    const first = await startPipeline();
    await waitFor('lines', () => first.sender.got.length >= 10);
    await stopPipeline(first.p);
    // Same inode, new content (what inode reuse looks like): rewrite in place, longer than before.
    writeFileSync(f, lines('reuse', 0, 12).map((l) => l + '\n').join(''));
    const second = await startPipeline();
    await waitFor('all new lines', () => second.sender.got.length >= 12);
    expect(second.sender.logs()).toEqual(lines('reuse', 0, 12));
  });

  it('refuses a symlink to a file outside the roots, counts it and never opens it', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'warden-shadow-'));
    const shadow = join(outside, 'shadow');
    writeFileSync(shadow, 'root:SECRET:19000:0:99999:7:::\n');
    try {
      symlinkSync(shadow, join(tree.logDir, 'evil.log'));
      write(join(tree.logDir, 'ok.log'), ['fine']);
      const { sender, metrics, lines: logs, p } = await startPipeline();
      await waitFor('the good file', () => sender.got.length >= 1);
      await new Promise((r) => setTimeout(r, 450)); // two rescans
      expect(sender.logs()).toEqual(['fine']);
      expect(await counter(metrics.refused, { reason: 'outside_roots' })).toBe(1);
      expect(logs.filter((l) => l.includes('evil.log')).length).toBe(1);
      expect(p.files().map((x) => x.path)).toEqual([join(tree.logDir, 'ok.log')]);
      // No descriptor of this process points at the target.
      const targets = readdirSync('/proc/self/fd').map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      });
      expect(targets).toContain(join(tree.logDir, 'ok.log'));
      expect(targets).not.toContain(shadow);
      expect(sender.logs().join('')).not.toContain('SECRET');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('a FIFO named x.log never blocks and is counted as not_regular; a directory named y.log too', async () => {
    execFileSync('mkfifo', [join(tree.logDir, 'x.log')]);
    mkdirSync(join(tree.logDir, 'y.log'));
    write(join(tree.logDir, 'ok.log'), ['after fifo']);
    const { sender, metrics } = await startPipeline();
    await waitFor('the regular file', () => sender.got.length >= 1);
    expect(sender.logs()).toEqual(['after fifo']);
    expect(await counter(metrics.refused, { reason: 'not_regular' })).toBe(2);
  });

  it('tail.exclude removes matching paths', async () => {
    write(join(tree.logDir, 'keep.log'), ['keep']);
    write(join(tree.logDir, 'skip.log'), ['skip']);
    const { sender } = await startPipeline({ tail: { exclude: [join(tree.logDir, 'skip*')] } });
    await waitFor('kept file', () => sender.got.length >= 1);
    // A file made later is found by a later discovery pass, which had skip.log before it too.
    write(join(tree.logDir, 'later.log'), ['later']);
    await waitFor('the later file', () => sender.logs().includes('later'));
    expect(sender.logs()).toEqual(['keep', 'later']);
  });

  it('a docker 40 KiB line in 16 KiB partials arrives as one record', async () => {
    const id = 'c'.repeat(64);
    const cdir = join(tree.logDir, id);
    mkdirSync(cdir);
    const f = join(cdir, `${id}-json.log`);
    const big = 'x'.repeat(40 * 1024);
    const parts = [big.slice(0, 16384), big.slice(16384, 32768), big.slice(32768) + '\n'];
    writeFileSync(f, parts.map((s) => JSON.stringify({ log: s, stream: 'stdout', time: '2024-01-01T00:00:01Z' })).join('\n') + '\n');
    appendFileSync(f, JSON.stringify({ log: 'next\n', stream: 'stdout', time: '2024-01-01T00:00:02Z' }) + '\n');
    const { sender } = await startPipeline({ inputs: [{ name: 'docker', paths: [join(tree.logDir, '*', '*-json.log')], format: 'docker' }] });
    await waitFor('two records', () => sender.got.length >= 2);
    expect(sender.got[0]!.record.log).toBe(big);
    expect(sender.got[0]!.record.partial).toBeUndefined();
    expect(sender.got[1]!.record.log).toBe('next');
  });

  it('CRI P,P,F arrives as one record', async () => {
    const f = join(tree.logDir, 'c.log');
    writeFileSync(f, ['2024-01-01T00:00:00Z stdout P one ', '2024-01-01T00:00:00Z stdout P two ', '2024-01-01T00:00:00Z stdout F three'].join('\n') + '\n');
    const { sender, p } = await startPipeline({ inputs: [{ name: 'c', paths: [join(tree.logDir, '*.log')], format: 'auto' }] });
    await caughtUp(p, f);
    expect(sender.logs()).toEqual(['one two three']);
  });

  it('a line longer than max_line_bytes is split and flagged truncated, never dropped', async () => {
    const f = join(tree.logDir, 'long.log');
    const long = 'y'.repeat(5000);
    write(f, [long, 'short']);
    const { sender } = await startPipeline({ tail: { max_line_bytes: 2048 } });
    await waitFor('short line after the long one', () => sender.logs().includes('short'));
    const pieces = sender.got.filter((g) => g.record.truncated);
    expect(pieces.map((g) => g.record.log).join('')).toBe(long);
    expect(pieces.every((g) => Buffer.byteLength(g.record.log) <= 2048)).toBe(true);
  });

  it('a rotated file not drained within rotated_keep_s is given up: bytes counted by reason and logged with the path', async () => {
    const f = join(tree.logDir, 'app.log');
    write(f, lines('r', 0, 3));
    const sender = new MemorySender();
    const metrics = createMetrics({ defaults: false });
    const { logger, lines: logs } = captureLogger();
    const p = new TailPipeline({ config: tailConfig(tree.stateDir, [tree.logDir], plainInput(), { rotated_keep_s: 0.3 }), sender, logger, metrics, host: 'h' });
    pipelines.track(p);
    await p.start();
    await waitFor('first lines', () => sender.got.length >= 3);
    p.pause();
    write(f, lines('r', 3, 10));
    const unread = readFileSync(f).length - 'r-0\nr-1\nr-2\n'.length;
    renameSync(f, f + '.1');
    write(f, ['new']);
    await waitFor('bytes lost counted', async () => (await counter(metrics.bytesLost, { reason: 'rotated_keep_s' })) > 0);
    expect(await counter(metrics.bytesLost, { reason: 'rotated_keep_s' })).toBe(unread);
    expect(logs.some((l) => l.includes('gave up a rotated file') && l.includes(f))).toBe(true);
    p.resume();
    await waitFor('the new file after resume', () => sender.logs().includes('new'));
  });

  it('reconfigure: a new input takes effect without a restart', async () => {
    const other = join(tree.root, 'other');
    mkdirSync(other);
    write(join(other, 'x.log'), ['from other']);
    write(join(tree.logDir, 'a.log'), ['from log']);
    const { p, sender } = await startPipeline();
    await waitFor('first input', () => sender.got.length >= 1);
    p.reconfigure(tailConfig(tree.stateDir, [tree.logDir, other], [...plainInput(), { name: 'other', paths: [join(other, '*.log')], format: 'plain' }]));
    await waitFor('second input', () => sender.logs().includes('from other'));
    expect(p.files().map((x) => x.input).sort()).toEqual(['host', 'other']);
  });
});
