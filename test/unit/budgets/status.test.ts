// `warden status` prints the budgets as one line per resource: state, usage, budget, actions, reason,
// under a heading with the pod's limit and working set.
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../agent/health/client.js';

const MIB = 1048576;

describe('warden status: budgets', () => {
  it('one line per resource with its state and reason, and the pod in the heading', () => {
    const text = renderStatus({
      version: 'x',
      node_name: 'n',
      ready: { ok: true, reasons: [] },
      child: { state: 'ready', pid: 7 },
      budgets: {
        mode: 'watchdog',
        pod: { memory_limit_bytes: 200 * MIB, working_set_bytes: 152 * MIB, unreclaimable_bytes: 96 * MIB, cpu_limit_millicores: 200, cpu_millicores: 190 },
        rows: [
          { resource: 'pod.memory', state: 'acting', usage: '152.0Mi', budget: '200.0Mi', actions: 1, reason: 'working set 152.0MiB = 76% of 200.0MiB' },
          { resource: 'child.memory', state: 'normal', usage: '80.0Mi', budget: '110.0Mi', actions: 0, reason: 'start' },
          { resource: 'child.cpu', state: 'pressure', usage: '160m', budget: '150m (share)', actions: 0, reason: '160m of budget 150m (no action: the pod is held by its cpu quota; budget not set below it)' },
          { resource: 'agent.memory', state: 'normal', usage: '55.0Mi', budget: '80.0Mi', actions: 0, reason: 'start' },
          { resource: 'agent.cpu', state: 'normal', usage: '30m', budget: '50m (share)', actions: 0, reason: 'start' },
        ],
      },
      files: [],
    });
    const lines = text.split('\n');
    const head = lines.findIndex((l) => l.startsWith('BUDGETS'));
    expect(lines[head]).toBe('BUDGETS (watchdog; pod memory 152.0Mi (96.0Mi unreclaimable) of 200.0Mi, cpu 190m of 200m)');
    expect(lines[head + 1]).toMatch(/^resource\s+state\s+usage\s+budget\s+actions\s+reason$/);
    expect(lines[head + 2]).toMatch(/^pod\.memory\s+acting\s+152\.0Mi\s+200\.0Mi\s+1\s+working set 152\.0MiB = 76% of 200\.0MiB$/);
    expect(lines.slice(head + 2, head + 7).map((l) => l.split(/\s+/)[0])).toEqual(['pod.memory', 'child.memory', 'child.cpu', 'agent.memory', 'agent.cpu']);
  });

  it('without a container limit the heading says so', () => {
    const text = renderStatus({ budgets: { mode: 'watchdog', pod: { memory_limit_bytes: null, working_set_bytes: null, cpu_limit_millicores: null, cpu_millicores: null }, rows: [] }, files: [] });
    expect(text).toContain('BUDGETS (watchdog; no container limits)');
  });
});
