// Issue 7 item 3, the world around warden: a log directory that disappears and comes back, and
// the wall clock jumping backwards (faked for warden alone with libfaketime, monotonic clock left
// real: FAKETIME_DONT_FAKE_MONOTONIC=1; the offset is read from a file so it can jump mid-run).
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor, sinkLogs, sleep } from '../support/index.js';
import { type RunningWarden, wardenScope, spawnWarden } from '../support/warden.js';
import { faultConfig, wardenConfig } from '../support/faults.js';
import { skipNote } from '../support/skip.js';

const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p));

const scope = wardenScope<RunningWarden>();

describe('log directory disappears and comes back', () => {
  it('rm -r of the input directory, then mkdir and a new file: the new lines are delivered, warden stays up', async () => {
    const t = tempDir('warden-world-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    writeFileSync(join(c.logs, 'app.log'), 'before-1\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('first line', () => sinkLogs(c.out).includes('before-1'), 15000);
    rmSync(c.logs, { recursive: true });
    await sleep(600); // a few rescans over a missing directory
    expect(w.proc.exitCode).toBeNull();
    mkdirSync(c.logs);
    writeFileSync(join(c.logs, 'app.log'), 'after-1\n');
    writeFileSync(join(c.logs, 'other.log'), 'other-1\n');
    await waitFor('lines of the recreated directory', () => ['after-1', 'other-1'].every((l) => sinkLogs(c.out).includes(l)), 10000);
    appendFileSync(join(c.logs, 'app.log'), 'after-2\n');
    await waitFor('growth after recreation', () => sinkLogs(c.out).includes('after-2'), 10000);
    expect((await w.get('/readyz')).status).toBe(200);
    // The deleted file is drained and forgotten; only the two new files remain known.
    const paths = async () => ((await w.json('/status')).files as Array<{ path: string }>).map((f) => f.path).sort();
    await waitFor('the deleted file forgotten', async () => (await paths()).length === 2, 8000).catch(() => undefined);
    expect(await paths()).toEqual([join(c.logs, 'app.log'), join(c.logs, 'other.log')]);
  }, 30000);
});

describe.skipIf(!LIBFAKETIME)(`wall clock jumps backwards (libfaketime)${skipNote(LIBFAKETIME ? null : 'libfaketime is not installed')}`, () => {
  async function startWithFakeClock(dir: string, hang = 2) {
    const c = await faultConfig(dir);
    c.child.hang_timeout_s = hang;
    const clockFile = join(dir, 'faketime');
    writeFileSync(clockFile, '+0\n');
    const file = join(c.logs, 'app.log');
    writeFileSync(file, 'tick-0\n');
    scope.running = spawnWarden(dir, wardenConfig(c), {
      env: { LD_PRELOAD: LIBFAKETIME!, FAKETIME_TIMESTAMP_FILE: clockFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    });
    await waitFor('first line', () => sinkLogs(c.out).includes('tick-0'), 15000);
    return { c, clockFile, file, w: scope.running };
  }

  it('one hour back while shipping: lines keep flowing, /readyz stays 200, no restart', async () => {
    const t = tempDir('warden-clock-');
    scope.cleanup = t.cleanup;
    const { c, clockFile, file, w } = await startWithFakeClock(t.dir);
    const t0 = Date.parse((await w.json('/status')).forward.last_ack_at);
    writeFileSync(clockFile, '-3600\n');
    for (let i = 1; i <= 20; i++) {
      appendFileSync(file, `tick-${i}\n`);
      await sleep(100);
    }
    await waitFor('every line after the jump', () => sinkLogs(c.out).includes('tick-20'), 10000);
    const st = await w.json('/status');
    // The jump really happened inside warden: its last ack is stamped about an hour earlier.
    expect(t0 - Date.parse(st.forward.last_ack_at)).toBeGreaterThan(3000 * 1000);
    expect(st.child.restarts).toBe(0);
    expect((await w.get('/readyz')).status).toBe(200);
    expect(new Set(sinkLogs(c.out)).size).toBe(21);
  }, 30000);

  // Hang detection runs on the monotonic clock: after a backward jump the last ack must not lie
  // "in the future" and hide a wedged child for an hour.
  it('the clock one hour back, then SIGSTOP of the child: still detected as hung', async () => {
    const t = tempDir('warden-clock-');
    scope.cleanup = t.cleanup;
    const { c, clockFile, file, w } = await startWithFakeClock(t.dir);
    writeFileSync(clockFile, '-3600\n');
    await sleep(300);
    const pid = (await w.json('/status')).child.pid as number;
    process.kill(pid, 'SIGSTOP');
    scope.stopped = pid;
    appendFileSync(file, 'while-wedged\n');
    await waitFor('restart as hung', async () => (await w.json('/status')).child.last_exit?.reason === 'hung', 12000);
    await waitFor('the line written while wedged', () => sinkLogs(c.out).includes('while-wedged'), 10000);
  }, 30000);
});
