import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_MAX_BYTES, CheckpointStore, type CheckpointEntry } from '../../../agent/tail/checkpoint.js';
import { createMetrics } from '../../../agent/health/metrics.js';
import { captureLogger } from '../../support/index.js';

let dir: string;
const { logger, lines: logLines } = captureLogger('info');
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-cp-'));
  logLines.length = 0;
});
afterEach(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

const entry = (offset: number): CheckpointEntry => ({ dev: 1, ino: 2, fp: 'abcd', fp_len: 4, path: '/var/log/a.log', offset, updated: new Date(0).toISOString() });

describe('CheckpointStore', () => {
  it('reports a first start, then reads back what it wrote atomically (no temp file left)', async () => {
    const s = new CheckpointStore(dir, logger, createMetrics({ defaults: false }));
    expect(await s.load()).toEqual({ existed: false, entries: [] });
    expect(await s.write([entry(10)])).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoints.json'), 'utf8'))).toMatchObject({ version: 2, files: [{ offset: 10 }] });
    expect(existsSync(join(dir, 'checkpoints.json.tmp'))).toBe(false);
    expect(await new CheckpointStore(dir, logger, createMetrics({ defaults: false })).load()).toEqual({ existed: true, entries: [entry(10)] });
  });

  it('makes state_dir when it is missing, at the first write or after it was removed', async () => {
    const state = join(dir, 'a', 'state');
    const s = new CheckpointStore(state, logger, createMetrics({ defaults: false }));
    expect(await s.write([entry(1)])).toBe(true);
    rmSync(join(dir, 'a'), { recursive: true });
    expect(await s.write([entry(2)])).toBe(true);
    expect(JSON.parse(readFileSync(join(state, 'checkpoints.json'), 'utf8'))).toMatchObject({ files: [{ offset: 2 }] });
  });

  it('reads the temp file when the main file is missing (a write cut before the rename)', async () => {
    writeFileSync(join(dir, 'checkpoints.json.tmp'), JSON.stringify({ version: 1, files: [entry(7)] }));
    const r = await new CheckpointStore(dir, logger, createMetrics({ defaults: false })).load();
    expect(r).toEqual({ existed: true, entries: [entry(7)] });
  });

  it('keeps a corrupt file aside with a warning and starts without it', async () => {
    writeFileSync(join(dir, 'checkpoints.json'), '{"version": 1, "files": [');
    const r = await new CheckpointStore(dir, logger, createMetrics({ defaults: false }), () => 1234).load();
    expect(r).toEqual({ existed: true, entries: [] });
    expect(readdirSync(dir)).toContain('checkpoints.json.corrupt-1234');
    expect(logLines.join('')).toMatch(/corrupt/);
  });

  it('treats another version as corrupt rather than misreading it', async () => {
    writeFileSync(join(dir, 'checkpoints.json'), JSON.stringify({ version: 3, files: [entry(1)] }));
    const r = await new CheckpointStore(dir, logger, createMetrics({ defaults: false }), () => 5).load();
    expect(r.entries).toEqual([]);
    expect(readdirSync(dir)).toContain('checkpoints.json.corrupt-5');
  });

  it('reads version 1 (no tail hash) and version 2; a malformed tail hash is dropped, not the entry', async () => {
    const tail = { tail_hash: '0123456789abcdef', tail_len: 5, tail_at: 10 };
    const bad = [{ tail_hash: 'x' }, { ...tail, tail_at: 11 }, { ...tail, tail_len: 11 }, { ...tail, tail_len: 0 }];
    writeFileSync(join(dir, 'checkpoints.json'), JSON.stringify({ version: 2, files: [{ ...entry(10), ...tail }, ...bad.map((b) => ({ ...entry(10), ...b }))] }));
    const r = await new CheckpointStore(dir, logger, createMetrics({ defaults: false })).load();
    expect(r.entries).toEqual([{ ...entry(10), ...tail }, entry(10), entry(10), entry(10), entry(10)]);
    writeFileSync(join(dir, 'checkpoints.json'), JSON.stringify({ version: 1, files: [entry(4)] }));
    expect((await new CheckpointStore(dir, logger, createMetrics({ defaults: false })).load()).entries).toEqual([entry(4)]);
  });

  it('reports a failing write (state_dir is a file), never throws, and recovers when it works again', async () => {
    const stateDir = join(dir, 'state');
    writeFileSync(stateDir, 'not a directory');
    const metrics = createMetrics({ defaults: false });
    const s = new CheckpointStore(stateDir, logger, metrics);
    expect(await s.write([entry(1)])).toBe(false);
    const h = s.healthy();
    expect(h.ok).toBe(false);
    expect(h.error).toContain(stateDir);
    expect((await metrics.checkpointWrites.get()).values.find((v) => v.labels.result === 'error')?.value).toBe(1);
    rmSync(stateDir);
    mkdirSync(stateDir);
    expect(await s.write([entry(2)])).toBe(true);
    expect(s.healthy()).toEqual({ ok: true });
  });

  it('reports a read-only state_dir (EACCES/EROFS-like)', async () => {
    if (process.getuid?.() === 0) {
      // root ignores directory permissions; a state_dir below a file fails the same way for root.
      const s = new CheckpointStore(join(dir, 'file', 'sub'), logger, createMetrics({ defaults: false }));
      writeFileSync(join(dir, 'file'), '');
      expect(await s.write([entry(1)])).toBe(false);
      expect(s.healthy().ok).toBe(false);
      return;
    }
    chmodSync(dir, 0o500);
    const s = new CheckpointStore(dir, logger, createMetrics({ defaults: false }));
    expect(await s.write([entry(1)])).toBe(false);
    expect(s.healthy().ok).toBe(false);
  });

  describe('state_dir files are data, never followed, read bounded (issue 15 item 2)', () => {
    const secretFile = () => {
      const outside = mkdtempSync(join(tmpdir(), 'warden-cp-outside-'));
      const secret = join(outside, 'secret');
      writeFileSync(secret, 'root:SECRET:0:0\n');
      return { outside, secret };
    };

    it('a temp file planted as a symlink is removed, not written through', async () => {
      const { outside, secret } = secretFile();
      try {
        symlinkSync(secret, join(dir, 'checkpoints.json.tmp'));
        const s = new CheckpointStore(dir, logger, createMetrics({ defaults: false }));
        expect(await s.write([entry(3)])).toBe(true);
        expect(readFileSync(secret, 'utf8')).toBe('root:SECRET:0:0\n');
        expect(JSON.parse(readFileSync(join(dir, 'checkpoints.json'), 'utf8')).files[0].offset).toBe(3);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });

    it('checkpoints.json planted as a symlink is never read: kept aside as the link, nothing of the target logged', async () => {
      const { outside, secret } = secretFile();
      try {
        symlinkSync(secret, join(dir, 'checkpoints.json'));
        const r = await new CheckpointStore(dir, logger, createMetrics({ defaults: false }), () => 9).load();
        expect(r).toEqual({ existed: true, entries: [] });
        expect(lstatSync(join(dir, 'checkpoints.json.corrupt-9')).isSymbolicLink()).toBe(true);
        expect(logLines.join('')).not.toContain('SECRET');
        expect(logLines.join('')).toMatch(/symlink/);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });

    it('a corrupt file is reported without its content', async () => {
      writeFileSync(join(dir, 'checkpoints.json'), 'root:SECRET:0:0\n');
      await new CheckpointStore(dir, logger, createMetrics({ defaults: false }), () => 1).load();
      expect(logLines.join('')).toMatch(/not valid JSON/);
      expect(logLines.join('')).not.toContain('SECRET');
      writeFileSync(join(dir, 'checkpoints.json'), JSON.stringify({ version: 'SECRET', files: [] }));
      await new CheckpointStore(dir, logger, createMetrics({ defaults: false }), () => 2).load();
      expect(logLines.join('')).toMatch(/version of type string/);
      expect(logLines.join('')).not.toContain('SECRET');
    });

    it('a checkpoint over the size limit is not read (kept aside), a FIFO does not block', async () => {
      // Sparse: larger than the limit without taking the disk or warden's memory.
      writeFileSync(join(dir, 'checkpoints.json'), '');
      truncateSync(join(dir, 'checkpoints.json'), CHECKPOINT_MAX_BYTES + 1);
      const before = process.memoryUsage().rss;
      const r = await new CheckpointStore(dir, logger, createMetrics({ defaults: false }), () => 4).load();
      expect(r).toEqual({ existed: true, entries: [] });
      expect(process.memoryUsage().rss - before).toBeLessThan(CHECKPOINT_MAX_BYTES / 2);
      expect(readdirSync(dir)).toContain('checkpoints.json.corrupt-4');
      expect(logLines.join('')).toMatch(/limit/);
      execFileSync('mkfifo', [join(dir, 'checkpoints.json')]);
      expect(await new CheckpointStore(dir, logger, createMetrics({ defaults: false }), () => 5).load()).toEqual({ existed: true, entries: [] });
      expect(logLines.join('')).toMatch(/not a regular file/);
    });
  });
});
