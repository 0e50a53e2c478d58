// The first scrape of a fresh warden already holds every series an operator alerts on, at 0:
// `increase(warden_bytes_lost_total{reason="deleted_unread"}[5m]) > 0` or a rate of child exits
// by kind can be written before the first loss or crash. The label values are written out here
// on purpose: they are public (dashboards and alerts name them), a rename must fail this test.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, tempDir, waitFor } from '../support/index.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

const EXPECTED: Record<string, Record<string, string[]>> = {
  warden_bytes_lost_total: {
    reason: [
      'rotated_keep_s',
      'rotated_max_files',
      'deleted_at_stop',
      'deleted_unread',
      'replaced',
      'open_failed',
      'nul',
      'encode',
      'journal_record_too_big',
      'journal_bad_entry',
      'rejected',
    ],
  },
  warden_tail_refused_total: { reason: ['outside_roots', 'not_regular', 'symlink_loop'] },
  warden_tail_rotations_total: { kind: ['rename', 'deleted', 'docker', 'kubelet', 'copytruncate', 'recovered'] },
  warden_child_restarts_total: {
    reason: ['exited', 'signaled', 'oom_killed', 'config_error', 'start_failed', 'budget_memory', 'hung', 'ready_timeout', 'reload'],
  },
  warden_config_reloads_total: { result: ['applied', 'refused', 'unchanged'], trigger: ['signal', 'watch'] },
};

/** `name{a="x",b="y"}` for every combination of `labels`' values, in their order. */
function series(name: string, labels: Record<string, string[]>): string[] {
  let out: string[][] = [[]];
  for (const [k, vs] of Object.entries(labels)) out = out.flatMap((l) => vs.map((v) => [...l, `${k}="${v}"`]));
  return out.map((l) => `${name}{${l.join(',')}}`);
}

describe('/metrics of a fresh warden', () => {
  it('has every labelled counter at 0 for each of its label values, before any event', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    mkdirSync(join(t.dir, 'logs'));
    const [healthPort, fwdPort] = [await freePort(), await freePort()];
    const w = (scope.running = spawnWarden(t.dir, {
      state_dir: join(t.dir, 'state'),
      health: { listen: `127.0.0.1:${healthPort}` },
      inputs: [{ name: 'host', paths: [join(t.dir, 'logs/*.log')], format: 'plain' }],
      tail: { roots: [join(t.dir, 'logs')] },
      forward: { to: `tcp://127.0.0.1:${fwdPort}` },
      child: { command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', join(t.dir, 'out.ndjson')], stop_grace_s: 2 },
    }));
    await waitFor('ready', async () => (await w.get('/readyz')).status === 200, 30_000);
    const text = (await w.get('/metrics')).body;
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^(\S+\{[^}]*\}) (\S+)$/.exec(line);
      if (m) values.set(m[1]!, Number(m[2]));
    }
    const missing: string[] = [];
    for (const [name, labels] of Object.entries(EXPECTED)) {
      for (const s of series(name, labels)) {
        if (!values.has(s)) missing.push(s);
        else expect(values.get(s), s).toBe(0);
      }
    }
    expect(missing).toEqual([]);
    // Only the values written out above: a new reason is added here when it is added to the code.
    for (const name of Object.keys(EXPECTED)) {
      const exported = [...values.keys()].filter((k) => k.startsWith(`${name}{`)).sort();
      expect(exported, name).toEqual(series(name, EXPECTED[name]!).sort());
    }
  });
});
