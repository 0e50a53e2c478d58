// Issue 7 item 3, warden's own state: a state_dir that cannot be written (parent is a regular
// file; a read-only tmpfs; a full tmpfs) must not stop shipping; /readyz says so naming the state
// dir, the log says so, and checkpoints catch up once writing works again. A corrupt or truncated
// checkpoint file is kept aside with a warning and nothing is lost.
// The tmpfs cases mount as root (CAP_SYS_ADMIN); where mount is refused they are skipped.
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logEntries, tempDir, waitFor, sinkLogs } from '../support/index.js';
import { type RunningWarden, wardenScope, spawnWarden } from '../support/warden.js';
import { canMountTmpfs, faultConfig, wardenConfig } from '../support/faults.js';
import { skipNote } from '../support/skip.js';

const scope = wardenScope<RunningWarden>();


const mountProbe = tempDir('warden-mnt-probe-');
const MOUNT_OK = canMountTmpfs(join(mountProbe.dir, 'm'));
mountProbe.cleanup();
function checkpointOffset(stateDir: string, path: string): number | null {
  try {
    const doc = JSON.parse(readFileSync(join(stateDir, 'checkpoints.json'), 'utf8'));
    return doc.files.find((e: { path: string }) => e.path === path)?.offset ?? null;
  } catch {
    return null;
  }
}

function mountTmpfs(dir: string, opts: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount tmpfs ${dir}: ${r.stderr}`);
  scope.deferred.push(() => spawnSync('umount', ['-l', dir]));
}

/** Ship, expect /readyz 503 naming the state dir and a log line, then `fix()` and expect checkpoints to catch up. */
async function shipsWhileStateDirBroken(dir: string, stateDir: string, fix: () => void, errPattern: RegExp): Promise<void> {
  const c = await faultConfig(dir);
  c.state_dir = stateDir;
  const file = join(c.logs, 'app.log');
  writeFileSync(file, 'a1\na2\n');
  scope.running = spawnWarden(dir, wardenConfig(c));
  const w = scope.running;
  await waitFor('lines delivered although the state dir is broken', () => sinkLogs(c.out).includes('a2'), 15000);
  appendFileSync(file, 'a3\n');
  await waitFor('more lines delivered', () => sinkLogs(c.out).includes('a3'), 10000);
  const ready = await waitFor('/readyz 503 naming the state dir', async () => {
    const r = await w.get('/readyz');
    return r.status === 503 && r.body.includes(stateDir) ? JSON.parse(r.body) : null;
  }, 10000);
  expect(ready.reasons.join('\n')).toMatch(errPattern);
  expect(w.output()).toMatch(/checkpoint write failed|state_dir is not writable/);
  expect((await w.get('/metrics')).body).toMatch(/warden_checkpoint_writes_total\{result="error"\} [1-9]/);
  fix();
  await waitFor('/readyz 200 once the state dir works', async () => (await w.get('/readyz')).status === 200, 10000);
  const size = statSync(file).size;
  await waitFor('the checkpoint caught up to the end of the file', () => checkpointOffset(stateDir, file) === size, 10000);
  // Logged after the write's directory fsync and through pino's asynchronous destination: it may follow the rename by a moment.
  await waitFor('the recovery logged', () => w.output().includes('checkpoint writes work again'), 10000);
}

describe('state_dir faults', () => {
  it('state_dir under a regular file (ENOTDIR): keeps shipping, /readyz 503 names it, catches up once the path is a directory', async () => {
    const t = tempDir('warden-state-');
    scope.cleanup = t.cleanup;
    const blocker = join(t.dir, 'blocker');
    writeFileSync(blocker, 'not a directory\n');
    await shipsWhileStateDirBroken(t.dir, join(blocker, 'state'), () => rmSync(blocker), /ENOTDIR|EEXIST|not a directory/);
  }, 30000);

  it.skipIf(!MOUNT_OK)(`state_dir on a read-only tmpfs (EROFS): keeps shipping, /readyz 503, catches up after remount rw${skipNote(MOUNT_OK ? null : 'cannot mount a tmpfs here')}`, async () => {
    const t = tempDir('warden-state-');
    scope.cleanup = t.cleanup;
    const mnt = join(t.dir, 'state-ro');
    mountTmpfs(mnt, 'size=1m');
    expect(spawnSync('mount', ['-o', 'remount,ro', mnt]).status).toBe(0);
    await shipsWhileStateDirBroken(t.dir, mnt, () => {
      expect(spawnSync('mount', ['-o', 'remount,rw', mnt]).status).toBe(0);
    }, /EROFS|read-only/);
  }, 30000);

  it.skipIf(!MOUNT_OK)(`state_dir on a full 64 KiB tmpfs (ENOSPC): keeps shipping, /readyz 503, catches up once space is freed${skipNote(MOUNT_OK ? null : 'cannot mount a tmpfs here')}`, async () => {
    const t = tempDir('warden-state-');
    scope.cleanup = t.cleanup;
    const mnt = join(t.dir, 'state-full');
    mountTmpfs(mnt, 'size=64k');
    const filler = join(mnt, 'filler');
    const fd = openSync(filler, 'w');
    const block = Buffer.alloc(4096, 0x61);
    try {
      for (;;) writeSync(fd, block);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    // Fill the last partial block too, byte by byte.
    try {
      for (;;) writeSync(fd, block, 0, 1);
    } catch {
      // full now
    }
    closeSync(fd);
    await shipsWhileStateDirBroken(t.dir, mnt, () => rmSync(filler), /ENOSPC|no space/i);
  }, 30000);
});

describe('corrupt checkpoint file', () => {
  const cases: Array<[string, string]> = [
    ['binary garbage', '\u0000\u00ff garbage \u0001{{{'],
    ['truncated JSON (a write cut short)', '{"version":1,"files":[{"dev":2049,"ino":12,"fp":"ab'],
  ];
  for (const [name, body] of cases) {
    it(`${name}: kept aside as .corrupt-*, warning logged, every line of the existing file shipped (read_from end applies only to a first start)`, async () => {
      const t = tempDir('warden-cp-');
      scope.cleanup = t.cleanup;
      const c = await faultConfig(t.dir);
      c.tail.read_from = 'end';
      mkdirSync(c.state_dir, { recursive: true });
      writeFileSync(join(c.state_dir, 'checkpoints.json'), body);
      const file = join(c.logs, 'app.log');
      writeFileSync(file, 'old-1\nold-2\n');
      scope.running = spawnWarden(t.dir, wardenConfig(c));
      const w = scope.running;
      await waitFor('ready', async () => (await w.get('/readyz')).status === 200, 15000);
      appendFileSync(file, 'new-1\n');
      // The checkpoint existed (it was corrupt, not absent): this is not a first start, so the
      // file it may have described is read from its start — duplicates possible, nothing lost.
      await waitFor('old and new lines', () => ['old-1', 'old-2', 'new-1'].every((l) => sinkLogs(c.out).includes(l)), 10000);
      const aside = readdirSync(c.state_dir).filter((n) => n.startsWith('checkpoints.json.corrupt-'));
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(c.state_dir, aside[0]!), 'utf8')).toBe(body);
      const warn = w.output().split('\n').find((l) => l.includes('checkpoint file is corrupt'));
      expect(warn).toBeDefined();
      expect(JSON.parse(warn!).level).toBe('warn');
      await waitFor('a fresh valid checkpoint', () => checkpointOffset(c.state_dir, file) === statSync(file).size, 10000);
      expect(existsSync(join(c.state_dir, 'checkpoints.json'))).toBe(true);
    }, 30000);
  }
});

describe('the child marker file (state_dir/child-marker.json)', () => {
  it('written after the health server listens: one that cannot be written is an error naming the file, and warden answers /healthz and ships', async () => {
    const t = tempDir('warden-marker-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    const marker = join(c.state_dir, 'child-marker.json');
    // A directory where the temp file goes: every write of the marker file fails, nothing else does.
    mkdirSync(`${marker}.tmp`, { recursive: true });
    const file = join(c.logs, 'app.log');
    writeFileSync(file, '');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    const failed = await waitFor('the marker error', () => logEntries(w.output()).find((l) => l.msg?.startsWith('cannot write the child marker file')), 15000);
    expect(failed.level).toBe('error');
    expect(failed.file).toBe(marker);
    expect(failed.msg).toContain(marker);
    expect((await w.get('/healthz')).status).toBe(200);
    const entries = logEntries(w.output());
    expect(entries.findIndex((l) => l.msg === 'health server listening')).toBeLessThan(entries.findIndex((l) => l.msg === failed.msg));
    appendFileSync(file, 'm1\n');
    await waitFor('lines delivered', () => sinkLogs(c.out).includes('m1'), 15000);
    expect(existsSync(marker)).toBe(false);
  }, 30000);

  it('written once the health server listens, naming this warden, so the next start finds it', async () => {
    const t = tempDir('warden-marker-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    const marker = join(c.state_dir, 'child-marker.json');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('healthz', async () => (await w.get('/healthz').catch(() => ({ status: 0 }))).status === 200, 15000);
    const doc = await waitFor('the marker file', () => (existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')) : null), 5000);
    expect(doc).toMatchObject({ version: 1, warden: { pid: w.proc.pid } });
    expect(existsSync(`${marker}.tmp`)).toBe(false);
    await w.kill();
    // The next start on this state_dir takes it as the warden before's: no warning that it cannot be used.
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const next = scope.running;
    await waitFor('the next marker file', () => existsSync(marker) && JSON.parse(readFileSync(marker, 'utf8')).warden.pid === next.proc.pid, 15000);
    expect(next.output()).not.toContain('the child marker file cannot be used');
    expect(next.output()).not.toContain('another warden runs on this state_dir');
  }, 30000);
});
