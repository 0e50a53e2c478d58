import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, fixture, freePort, groupExists, metricValue, waitFor } from '../support/index.js';
import { childScope } from '../support/child.js';

const node = process.execPath;
const scope = childScope();

describe('ChildSupervisor stop, readiness and reload', () => {
  it('stop() on a child that ignores SIGTERM: SIGKILL after the grace, nothing of the group remains', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('ignore-sigterm.mjs')], port, stopGraceS: 0.5 });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const pgid = h.child.pid()!;
    const worker = Number(await waitFor('worker pid', () => h.entries.find((e) => /^worker \d+$/.test(e.msg))?.msg.split(' ')[1]));
    const escaped = Number(await waitFor('escaped pid', () => h.entries.find((e) => /^escaped \d+$/.test(e.msg))?.msg.split(' ')[1]));
    expect(alive(worker)).toBe(true);
    expect(alive(escaped)).toBe(true);
    const stopping = h.child.stop();
    await waitFor('stopping', () => h.states.some((s) => s.state === 'stopping'));
    await new Promise((r) => setTimeout(r, 200));
    expect(groupExists(pgid)).toBe(true); // SIGTERM alone did not end it: still inside the grace
    await stopping;
    expect(groupExists(pgid)).toBe(false);
    expect(alive(worker)).toBe(false);
    expect(alive(escaped)).toBe(false); // left the group, found through the parent tree
    const s = h.child.status();
    expect(s).toMatchObject({ state: 'stopped', pid: null });
    expect(s.last_exit).toMatchObject({ kind: 'signaled', reason: 'signaled(SIGKILL)' });
    expect(h.entries.some((e) => e.msg === 'ignoring SIGTERM' && e.child === 'node' && e.stream === 'stdout')).toBe(true);
    expect(await metricValue(h.metrics, 'warden_child_up')).toBe(0);
  });

  it('a slow child stays starting until its port accepts, then becomes ready', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('listen.mjs')], port, env: { PORT: String(port), READY_DELAY_MS: '700' } });
    let readyEvents = 0;
    h.child.on('ready', () => readyEvents++);
    h.child.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(h.child.status()).toMatchObject({ state: 'starting' });
    expect(h.child.pid()).toBeGreaterThan(0);
    expect(await metricValue(h.metrics, 'warden_child_ready')).toBe(0);
    await waitFor('ready', () => h.child.status().state === 'ready');
    expect(readyEvents).toBe(1);
    expect(await metricValue(h.metrics, 'warden_child_ready')).toBe(1);
  });

  it('a child that never accepts within ready_timeout_s is restarted as ready_timeout', async () => {
    const port = await freePort();
    const h = scope.make({
      command: [node, fixture('listen.mjs')],
      port,
      readyTimeoutS: 0.5,
      env: { PORT: String(port), READY_DELAY_MS: '60000' },
    });
    h.child.start();
    const first = await waitFor('pid', () => h.child.pid());
    await waitFor('restarted', () => h.child.status().restarts === 1, 5000);
    expect(h.child.status().last_exit).toMatchObject({ kind: 'ready_timeout', reason: 'ready_timeout' });
    expect(groupExists(first)).toBe(false);
    expect(await metricValue(h.metrics, 'warden_child_restarts_total', { reason: 'ready_timeout' })).toBe(1);
  });

  it('reload with a failing check command leaves the child untouched', async () => {
    const port = await freePort();
    const marker = join(scope.tempDir(), 'marker');
    const h = scope.make({ command: [node, fixture('listen.mjs')], port, env: { PORT: String(port), MARKER_FILE: marker } });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const pid = h.child.pid();
    const r = await h.child.reload([node, '-e', "console.error('fluent.conf line 3: unknown directive'); process.exit(1)"]);
    expect(r.ok).toBe(false);
    expect(r.error).toContain('exited(1)');
    expect(r.error).toContain('fluent.conf line 3: unknown directive');
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(marker)).toBe(false);
    expect(h.child.pid()).toBe(pid);
    expect(h.child.status().state).toBe('ready');
  });

  it('reload with a passing check: the child receives the reload signal, same pid', async () => {
    const port = await freePort();
    const marker = join(scope.tempDir(), 'marker');
    const h = scope.make({
      command: [node, fixture('listen.mjs')],
      port,
      env: { PORT: String(port), MARKER_FILE: marker },
      checkCommand: [node, '-e', 'process.exit(0)'],
    });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const pid = h.child.pid();
    expect(await h.child.reload()).toEqual({ ok: true });
    await waitFor('marker', () => existsSync(marker) && readFileSync(marker, 'utf8'));
    expect(readFileSync(marker, 'utf8')).toBe(`SIGUSR2 ${pid}\n`);
    expect(h.child.pid()).toBe(pid);
  });

  it('reloads called while one runs share one follow-up reload', async () => {
    const port = await freePort();
    const dir = scope.tempDir();
    const marker = join(dir, 'marker');
    const checks = join(dir, 'checks');
    const h = scope.make({ command: [node, fixture('listen.mjs')], port, env: { PORT: String(port), MARKER_FILE: marker } });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const check = [node, '-e', `require('node:fs').appendFileSync(${JSON.stringify(checks)}, 'x'); setTimeout(() => {}, 300)`];
    const results = await Promise.all([h.child.reload(check), h.child.reload(check), h.child.reload(check), h.child.reload(check)]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(readFileSync(checks, 'utf8')).toBe('xx');
    await waitFor('two signals', () => existsSync(marker) && readFileSync(marker, 'utf8').split('\n').length === 3);
  });
});
