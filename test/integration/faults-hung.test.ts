// Issue 7 item 2: a hung child is a dead child. A child that is alive and accepts the Forward
// connection but never acks is restarted as `hung` after child.hang_timeout_s, and the lines it
// swallowed reach the next, healthy child.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ROOT, WARDEN, tempDir, waitFor, sinkLogs } from '../support/index.js';
import { type RunningWarden, wardenScope, spawnWarden } from '../support/warden.js';
import { faultConfig, wardenConfig } from '../support/faults.js';

const NO_ACK = join(ROOT, 'test/fixtures/faults/no-ack-receiver.mjs');

const scope = wardenScope<RunningWarden>();

type FaultConfig = Awaited<ReturnType<typeof faultConfig>>;

/**
 * warden over one file of three lines, its child the no-ack receiver with `env(dir)` (ready on
 * connect, never acking), hang_timeout_s 2; once the receiver has wedged (`marker` exists), the
 * next start is the real sink. `more` changes the config before warden starts.
 */
async function startWedged(env: (dir: string) => Record<string, string>, more: (c: FaultConfig) => void = () => {}) {
  const t = tempDir('warden-hung-');
  scope.cleanup = t.cleanup;
  const c = await faultConfig(t.dir, { sharedKey: 'none' });
  const marker = join(t.dir, 'wedged-once');
  c.child.command = [process.execPath, NO_ACK];
  c.child.env = {
    PORT: String(c.fwdPort),
    SINK_AFTER_MARKER: marker,
    SINK_ARGV: JSON.stringify([WARDEN, 'sink', '--listen', c.forward.to, '--out', c.out]),
    ...env(t.dir),
  };
  c.child.hang_timeout_s = 2;
  more(c);
  writeFileSync(join(c.logs, 'app.log'), 'one\ntwo\nthree\n');
  scope.running = spawnWarden(t.dir, wardenConfig(c));
  return { dir: t.dir, c, marker, w: scope.running };
}

/** /status once the child's last exit was a hang (and, with `restarted`, its successor has started). */
function hungExit(w: RunningWarden, ms: number, restarted = false) {
  return waitFor('last_exit hung', async () => {
    const s = await w.json('/status');
    return s.child.last_exit?.reason === 'hung' && (!restarted || s.child.restarts >= 1) ? s : null;
  }, ms);
}

/** The three lines, each once, in the healthy child's output. */
async function threeDelivered(c: FaultConfig) {
  await waitFor('the lines in the healthy sink', () => sinkLogs(c.out).length >= 3, 15000);
  expect(sinkLogs(c.out).sort()).toEqual(['one', 'three', 'two']);
}

describe('hung child (child.hang_timeout_s)', () => {
  it('a child that accepts the connection but never answers is restarted as hung; the healthy next child gets every line', async () => {
    // No handshake: a receiver that never sends HELO is never ready (ready_timeout), this one is
    // ready on connect and then swallows chunks without an ack.
    const { c, marker, w } = await startWedged(() => ({}));
    await waitFor('the wedged receiver to start', () => existsSync(marker), 10000);
    // A hung restart backs off like a crash: it is counted when the next child starts.
    const st = await hungExit(w, 15000, true);
    expect(st.child.last_exit.kind).toBe('hung');
    expect(st.child.restarts).toBeGreaterThanOrEqual(1);
    expect((await w.get('/metrics')).body).toMatch(/warden_child_restarts_total\{reason="hung"\} 1\b/);
    expect(w.output()).toContain('restarting it as hung');
    await waitFor('the lines in the healthy sink', () => sinkLogs(c.out).length >= 3, 15000);
    appendFileSync(join(c.logs, 'app.log'), 'four\n');
    await waitFor('a new line too', () => sinkLogs(c.out).includes('four'), 10000);
    expect(sinkLogs(c.out).filter((l) => l !== 'four').sort()).toEqual(['one', 'three', 'two']);
    expect((await w.get('/readyz')).status).toBe(200);
  }, 40000);

  it('a child that says its output cannot deliver (fluentd: failed to flush the buffer) waits unacked without a restart; once it goes quiet it is restarted as hung', async () => {
    const says = '2026-12-07 09:39:45 +0000 [warn]: failed to flush the buffer. retry_times=1 next_retry_time=2026-12-07 09:39:47 +0000 chunk="66207fff067ac445b2a271e32070c8e0" error_class=Errno::ECONNREFUSED';
    // A line holds for 5 × hang_timeout_s (2 s).
    const { c, w } = await startWedged(() => ({ SAYS_LINE: says, SAYS_FOR_MS: '6000' }));
    await waitFor('warden saying it waits for the child', () => w.output().includes('the child says its output cannot deliver: not restarted'), 15000);
    const waitingSince = performance.now();
    const st = await w.json('/status');
    expect(st.child).toMatchObject({ state: 'ready', restarts: 0 });
    expect(st.child_backpressure.line).toBe(says);
    expect((await w.get('/metrics')).body).toMatch(/^warden_child_backpressure 1$/m);
    const ready = await w.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('the child says its output cannot deliver');
    expect(w.output()).not.toContain('restarting it as hung');
    // Quiet since 6 s after it started: a hang once its last line is 10 s old.
    const hung = await hungExit(w, 40000, true);
    expect(performance.now() - waitingSince).toBeGreaterThan(7000);
    expect(hung.child_backpressure).toBeNull();
    await threeDelivered(c);
    expect((await w.get('/metrics')).body).toMatch(/^warden_child_backpressure 0$/m);
  }, 90000);

  it('what a crashed child said does not vouch for the next one: a restarted child that wedges silently is restarted as hung', async () => {
    // First start: says fluentd's line and crashes; second: wedges without a word; third: the real
    // sink. The first child's line would hold for 5 × 2 s.
    const { c, marker, w } = await startWedged((dir) => ({
      SAYS_ONCE_MARKER: join(dir, 'said-once'),
      SAYS_ONCE_LINE: '2026-12-07 09:39:45 +0000 [warn]: failed to flush the buffer. retry_times=3 error_class=Errno::ECONNREFUSED',
    }));
    await waitFor('the silent second child to wedge', () => existsSync(marker), 15000);
    const hung = await hungExit(w, 30000);
    expect(hung.child_backpressure).toBeNull();
    expect(w.output()).toContain('restarting it as hung');
    expect(w.output()).not.toContain('the child says its output cannot deliver: not restarted');
    await threeDelivered(c);
  }, 60000);

  it('child.backpressure_patterns is what counts, and a reload that changes it applies to the running child', async () => {
    // Said every 500 ms for as long as the wedged receiver runs.
    const { dir, c, w } = await startWedged(() => ({ SAYS_LINE: 'my output is stuck: retry 3' }), (c) => {
      (c.child as Record<string, unknown>).backpressure_patterns = ['output is stuck'];
    });
    await waitFor('warden saying it waits for the child', () => w.output().includes('the child says its output cannot deliver: not restarted'), 15000);
    expect((await w.json('/status')).child_backpressure.line).toBe('my output is stuck: retry 3');
    (c.child as Record<string, unknown>).backpressure_patterns = ['failed to flush the buffer'];
    writeFileSync(join(dir, 'warden.yaml'), stringify(wardenConfig(c)));
    w.proc.kill('SIGHUP');
    await waitFor('reload applied', async () => (await w.json('/status')).reload?.result === 'applied', 10000);
    expect((await w.json('/status')).child.restarts).toBe(0);
    // The child goes on saying its line, which no longer counts: once the last match is older than
    // the hold (5 × 2 s), the stall is a hang.
    const hung = await hungExit(w, 30000);
    expect(hung.child_backpressure).toBeNull();
    await threeDelivered(c);
  }, 70000);

  it('SIGSTOP of the real warden sink child: restarted as hung (SIGKILL after the grace), lines written meanwhile arrive', async () => {
    const t = tempDir('warden-hung-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    c.child.hang_timeout_s = 2;
    const file = join(c.logs, 'app.log');
    writeFileSync(file, 'before\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('first line delivered', () => sinkLogs(c.out).includes('before'), 15000);
    const pid = (await w.json('/status')).child.pid as number;
    process.kill(pid, 'SIGSTOP');
    scope.stopped = pid;
    appendFileSync(file, 'while-stopped-1\nwhile-stopped-2\n');
    const st = await hungExit(w, 15000, true);
    expect(st.child.pid).not.toBe(pid);
    expect((await w.get('/metrics')).body).toMatch(/warden_child_restarts_total\{reason="hung"\} 1\b/);
    await waitFor('lines written while the child was wedged', () => sinkLogs(c.out).includes('while-stopped-2'), 15000);
    appendFileSync(file, 'after\n');
    await waitFor('a line after the restart', () => sinkLogs(c.out).includes('after'), 10000);
    expect(new Set(sinkLogs(c.out))).toEqual(new Set(['before', 'while-stopped-1', 'while-stopped-2', 'after']));
  }, 40000);
});
