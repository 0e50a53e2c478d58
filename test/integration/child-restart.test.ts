import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, fixture, freePort, groupExists, metricValue, waitFor } from '../support/index.js';
import { childScope } from '../support/child.js';

const node = process.execPath;
const scope = childScope();

describe('ChildSupervisor restarts', () => {
  it('kill -9 of the child: restarted after backoff, signaled(SIGKILL) in status and in the restart metric', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('listen.mjs')], port });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const first = h.child.pid()!;
    process.kill(first, 'SIGKILL');
    await waitFor('restarted and ready', () => h.child.status().state === 'ready' && h.child.pid() !== first);
    const s = h.child.status();
    expect(s.last_exit).toMatchObject({ kind: 'signaled', reason: 'signaled(SIGKILL)', signal: 'SIGKILL', code: null });
    expect(s.restarts).toBe(1);
    expect(h.states.map((x) => x.state)).toEqual(['starting', 'starting', 'ready', 'backoff', 'starting', 'starting', 'ready']);
    expect(await metricValue(h.metrics, 'warden_child_restarts_total', { reason: 'signaled' })).toBe(1);
    expect(await metricValue(h.metrics, 'warden_child_starts_total')).toBe(2);
    expect(await metricValue(h.metrics, 'warden_child_ready')).toBe(1);
    expect(groupExists(first)).toBe(false);
    const exitLog = h.entries.find((e) => e.msg === 'child exited');
    expect(exitLog).toMatchObject({ level: 'warn', reason: 'signaled(SIGKILL)' });
    expect(exitLog!.last_lines).toContain(`listening ${port}`);
  });

  it('exit 2 is classified as config_error', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('exit-code.mjs'), '2'], port, restart: { backoff_initial_ms: 1000, backoff_max_ms: 2000, stable_after_s: 60, degraded_after: 5 } });
    h.child.start();
    await waitFor('backoff', () => h.child.status().state === 'backoff');
    const s = h.child.status();
    expect(s.last_exit).toMatchObject({ kind: 'config_error', code: 2 });
    expect(s.last_exit!.last_lines).toEqual(['exiting with 2']);
    expect(s.next_start_in_ms).toBeGreaterThan(0);
    expect(h.entries.find((e) => e.msg === 'child exited')).toMatchObject({ level: 'error', reason: 'config_error' });
  });

  it('last_exit.at is the wall-clock time of the exit, uptime_s a duration', async () => {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('exit-code.mjs'), '1'], port, restart: { backoff_initial_ms: 1000, backoff_max_ms: 2000, stable_after_s: 60, degraded_after: 5 } });
    const before = Date.now();
    h.child.start();
    const exit = await waitFor('exit', () => h.child.status().last_exit);
    const at = Date.parse(exit.at);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    expect(exit.uptime_s).toBeGreaterThanOrEqual(0);
    expect(exit.uptime_s * 1000).toBeLessThanOrEqual(Date.now() - before + 50);
  });

  it('leave-worker: the worker left in the group is killed before the restart', async () => {
    const port = await freePort();
    const dir = scope.tempDir();
    const pidFile = join(dir, 'workers');
    const h = scope.make({ command: [node, fixture('leave-worker.mjs'), '400'], port, env: { PORT: String(port), WORKER_PID_FILE: pidFile } });
    const workerAliveAtRestart: boolean[] = [];
    const groupAtRestart: boolean[] = [];
    let leader = 0;
    h.child.on('state', (s) => {
      // The first child's pid from its own events: by the time a poll sees it ready it may have
      // killed itself and been restarted already (a loaded machine).
      if (leader === 0 && s.pid !== null) leader = s.pid;
      if (s.state === 'starting' && s.pid === null && h.child.status().restarts > 0) {
        const workers = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
        workerAliveAtRestart.push(alive(workers[0]!));
        // At the moment of the restart, not later: the new child's start is what must find it gone.
        groupAtRestart.push(groupExists(leader));
      }
    });
    h.child.start();
    await waitFor('restart after the leader killed itself', () => workerAliveAtRestart.length > 0);
    expect(leader).toBeGreaterThan(0);
    expect(workerAliveAtRestart[0]).toBe(false);
    expect(groupAtRestart[0]).toBe(false);
    expect(h.child.status().last_exit).toMatchObject({ kind: 'signaled', reason: 'signaled(SIGKILL)' });
    // The port is free again for the new worker: readiness comes back.
    await waitFor('ready again', () => h.child.status().state === 'ready' && h.child.pid() !== leader);
  });

  /** A ready child with a long restart backoff, restarted once for its memory budget; its first pid. */
  async function budgetRestarted(stableAfterS: number) {
    const port = await freePort();
    const h = scope.make({ command: [node, fixture('listen.mjs')], port, restart: { backoff_initial_ms: 5000, backoff_max_ms: 10000, stable_after_s: stableAfterS, degraded_after: 5 } });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const first = h.child.pid()!;
    await h.child.restart('budget_memory');
    expect(groupExists(first)).toBe(false);
    return { h, first };
  }

  it('restart(reason) of a stable run: graceful stop, immediate start, counted under the reason', async () => {
    // stable_after_s 0: the run counts as stable at once.
    const { h, first } = await budgetRestarted(0);
    const s = h.child.status();
    expect(s.state).toBe('starting');
    expect(s.pid).not.toBe(first);
    expect(s.last_exit).toMatchObject({ kind: 'budget_memory', reason: 'budget_memory' });
    expect(s.restarts).toBe(1);
    expect(await metricValue(h.metrics, 'warden_child_restarts_total', { reason: 'budget_memory' })).toBe(1);
    await waitFor('ready', () => h.child.status().state === 'ready');
  });

  it('a budget restart of a run not yet stable backs off like a crash: no restart every few seconds of a child over budget from its start', async () => {
    const { h } = await budgetRestarted(60);
    const s = h.child.status();
    expect(s.state).toBe('backoff');
    expect(s.pid).toBeNull();
    expect(s.last_exit).toMatchObject({ kind: 'budget_memory' });
  });
});
