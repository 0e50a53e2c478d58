// The reload signal with a supervised child (fluentd without --no-supervisor): it goes to the
// leader only, never the group, and a leader that hands over to a successor after it (fluentd
// ≥ 1.18's zero-downtime restart on SIGUSR2) is followed, not restarted as a crash.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, fixture, freePort, groupExists, waitFor, waitForLog } from '../support/index.js';
import { childScope } from '../support/child.js';

const node = process.execPath;
const scope = childScope();
const marks = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

/** Starts `h`'s supervised child and reloads it: the first supervisor, and the successor followed once the first is gone. */
async function handedOver(h: ReturnType<typeof scope.make>): Promise<{ first: number; second: number }> {
  h.child.start();
  await waitFor('ready', () => h.child.status().state === 'ready');
  const first = h.child.pid()!;
  await waitForLog(() => h.entries, { msg: `supervisor ${first}` });
  expect(await h.child.reload()).toEqual({ ok: true });
  const second = await waitFor('the successor followed', () => {
    const p = h.child.pid();
    return p !== null && p !== first && p;
  });
  await waitFor('old supervisor gone', () => !alive(first));
  return { first, second };
}

describe('ChildSupervisor reload of a supervised child', () => {
  it('signals the leader only: its worker in the same group gets no reload signal', async () => {
    const port = await freePort();
    const marker = join(scope.tempDir(), 'marker');
    const h = scope.make({ command: [node, fixture('supervised.mjs')], port, env: { PORT: String(port), MARKER_FILE: marker } });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    await waitFor('supervisor up', () => h.entries.some((e) => /^supervisor \d+$/.test(e.msg)));
    const pid = h.child.pid();
    expect(await h.child.reload()).toEqual({ ok: true });
    await waitFor('the supervisor got it', () => marks(marker).length >= 1);
    await new Promise((r) => setTimeout(r, 300)); // a group signal would reach the worker within this
    expect(marks(marker)).toEqual([`supervisor SIGUSR2 ${pid}`]);
    expect(h.entries.some((e) => e.msg === 'reload signal sent to the child' && e.child_pid === pid)).toBe(true);
  });

  it('follows a zero-downtime restart: the successor becomes the child, no restart counted, stop ends it', async () => {
    const port = await freePort();
    const marker = join(scope.tempDir(), 'marker');
    const h = scope.make({ command: [node, fixture('supervised.mjs')], port, env: { PORT: String(port), MARKER_FILE: marker, HANDOVER: '1' } });
    const { first, second } = await handedOver(h);
    await waitForLog(() => h.entries, { msg: `supervisor ${second}` });
    expect(h.child.status()).toMatchObject({ state: 'ready', restarts: 0, last_exit: null });
    expect(h.entries.some((e) => e.msg === 'child exited')).toBe(false);
    expect(alive(second)).toBe(true);

    // The successor reloads (and hands over) in turn.
    expect(await h.child.reload()).toEqual({ ok: true });
    const third = await waitFor('the next successor followed', () => {
      const p = h.child.pid();
      return p !== null && p !== second && p;
    });
    expect(marks(marker)).toEqual([`supervisor SIGUSR2 ${first}`, `supervisor SIGUSR2 ${second}`]);
    await waitForLog(() => h.entries, { msg: `supervisor ${third}` });
    expect(h.child.status()).toMatchObject({ state: 'ready', restarts: 0 });

    await h.child.stop();
    expect(alive(third)).toBe(false);
    expect(groupExists(first)).toBe(false);
    expect(h.child.status()).toMatchObject({ state: 'stopped', pid: null });
  });

  it('a second reload during the handover: the successor is still followed (not killed as a crash) and gets the reload it missed', async () => {
    const port = await freePort();
    const marker = join(scope.tempDir(), 'marker');
    const h = scope.make({ command: [node, fixture('supervised.mjs')], port, env: { PORT: String(port), MARKER_FILE: marker, HANDOVER: '1', HANDOVER_DELAY_MS: '1500' } });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const first = h.child.pid()!;
    await waitForLog(() => h.entries, { msg: `supervisor ${first}` });
    expect(await h.child.reload()).toEqual({ ok: true });
    // The successor is up while the old supervisor waits to exit: a reload now reaches the old one, which ignores it.
    await waitFor('the successor started', () => h.entries.some((e) => /^supervisor \d+$/.test(e.msg) && e.msg !== `supervisor ${first}`), 10_000);
    expect(await h.child.reload()).toEqual({ ok: true });
    const second = await waitFor('the successor followed', () => {
      const p = h.child.pid();
      return p !== null && p !== first && p;
    }, 10_000);
    // The missed reload goes to the successor, which hands over in turn.
    const third = await waitFor('the next successor followed', () => {
      const p = h.child.pid();
      return p !== null && p !== first && p !== second && p;
    }, 10_000);
    expect(marks(marker)).toEqual([`supervisor SIGUSR2 ${first}`, `supervisor SIGUSR2 ${first}`, `supervisor SIGUSR2 ${second}`]);
    expect(h.child.status()).toMatchObject({ restarts: 0, last_exit: null });
    expect(h.entries.some((e) => e.msg === 'child exited')).toBe(false);
    await waitFor('the last one up', () => alive(third) && h.child.status().state === 'ready');
    await h.child.stop();
    expect(groupExists(first)).toBe(false);
  });

  it('a followed successor killed is a crash: `vanished` (no exit status for a process not ours), logged by its own pid, restarted', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('supervised.mjs')], port, env: { PORT: String(port), HANDOVER: '1' } });
    const { first, second } = await handedOver(h);
    process.kill(second, 'SIGKILL');
    await waitFor('restarted', () => h.child.status().restarts >= 1, 10_000);
    expect(h.child.status().last_exit).toMatchObject({ kind: 'vanished', reason: 'vanished', code: null, signal: null });
    expect(h.entries.find((e) => e.msg === 'child exited')).toMatchObject({ child_pid: second, pgid: first, reason: 'vanished' });
    expect(groupExists(first)).toBe(false); // the successor's orphaned worker was cleared with the group
    await waitFor('ready again', () => h.child.status().state === 'ready', 10_000);
  });

  it('a leader that exits after a reload signal leaving only its old worker is a crash, not a handover', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('supervised.mjs')], port, env: { PORT: String(port), HANDOVER: 'exit' } });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const first = h.child.pid()!;
    await waitForLog(() => h.entries, { msg: `supervisor ${first}` });
    expect(await h.child.reload()).toEqual({ ok: true });
    await waitFor('restarted', () => h.child.status().restarts >= 1, 10_000);
    expect(h.child.status().last_exit).toMatchObject({ kind: 'exited', reason: 'exited(0)' });
    expect(h.entries.some((e) => /handed over/.test(e.msg))).toBe(false);
    expect(groupExists(first)).toBe(false); // the orphaned worker was cleared with the group
  });

  it('a leader that exits without a reload signal before it is still a crash, even with a survivor', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('leave-worker.mjs'), '300'], port, env: { PORT: String(port) } });
    h.child.start();
    await waitFor('restarted', () => h.child.status().restarts >= 1, 10_000);
    expect(h.entries.some((e) => /handed over/.test(e.msg))).toBe(false);
  });
});
