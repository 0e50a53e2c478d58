import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExitInfo } from '../../core/contracts.js';
import { childScope } from '../support/child.js';
import { fixture, freePort, metricValue, waitFor } from '../support/index.js';

const node = process.execPath;
const scope = childScope();

describe('ChildSupervisor crash loops', () => {
  it('20 fast crashes: degraded, then at most one start per backoff_max_ms', async () => {
    const port = await freePort();
    const restart = { backoff_initial_ms: 20, backoff_max_ms: 150, stable_after_s: 60, degraded_after: 4 };
    const h = scope.make({ command: [node, fixture('exit-code.mjs'), '1'], port, restart });
    const starts: { at: number; degraded: boolean }[] = [];
    h.child.on('state', (s) => {
      if (s.state === 'starting' && s.pid === null) starts.push({ at: Date.now(), degraded: s.degraded });
    });
    const exits: string[] = [];
    h.child.on('exit', (e: ExitInfo) => exits.push(e.reason));
    h.child.start();
    await waitFor('20 starts', () => starts.length >= 20, 20_000);
    expect(h.child.status().degraded).toBe(true);
    await h.child.stop();
    expect(exits.length).toBeGreaterThanOrEqual(19);
    expect(exits.slice(0, 19)).toEqual(Array(19).fill('exited(1)'));
    expect(await metricValue(h.metrics, 'warden_child_degraded')).toBe(1);
    const degradedStarts = starts.filter((s) => s.degraded);
    expect(degradedStarts.length).toBeGreaterThanOrEqual(15);
    // Once degraded, each start is at least backoff_max_ms after the previous one (timers never fire early
    // by more than a millisecond of rounding).
    const firstDegraded = starts.findIndex((s) => s.degraded);
    for (let i = Math.max(firstDegraded, 1); i < starts.length; i++) {
      expect(starts[i]!.at - starts[i - 1]!.at).toBeGreaterThanOrEqual(restart.backoff_max_ms - 2);
    }
    expect(await metricValue(h.metrics, 'warden_child_restarts_total', { reason: 'exited' })).toBeGreaterThanOrEqual(19);
  });

  it.each([
    ['ENOENT', () => '/nonexistent/warden-test-program'],
    [
      'EACCES',
      () => {
        const dir = scope.tempDir();
        const f = join(dir, 'not-executable.sh');
        writeFileSync(f, '#!/bin/sh\nexit 0\n');
        chmodSync(f, 0o644);
        return f;
      },
    ],
  ])('%s: start_failed, retried with backoff and no hot loop', async (code, program) => {
    const port = await freePort();
    const restart = { backoff_initial_ms: 20, backoff_max_ms: 300, stable_after_s: 60, degraded_after: 3 };
    const h = scope.make({ command: [program()], port, restart });
    h.child.start();
    await new Promise((r) => setTimeout(r, 1000));
    const attempts = h.states.filter((s) => s.state === 'starting').length;
    await h.child.stop();
    expect(h.child.status().last_exit).toMatchObject({ kind: 'start_failed', reason: `start_failed(${code})` });
    expect(h.child.status().state).toBe('stopped');
    // A hot loop would start hundreds of times a second; with the policy: ≤ 3 quick tries, then one per 300 ms.
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(9);
    expect(await metricValue(h.metrics, 'warden_child_starts_total')).toBe(0);
  });
});
