// The metrics an operator alerts on read what they say from the first scrape.
import { describe, expect, it } from 'vitest';
import { KNOWN_LABELS } from '../../../agent/health/labels.js';
import { createMetrics } from '../../../agent/health/metrics.js';
import { sleep, waitFor } from '../../support/index.js';

function value(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in the scrape`);
  return Number(m[1]);
}

describe('metrics', () => {
  it('labelled counters of known label values are exported at 0 before their first event', async () => {
    const m = createMetrics({ defaults: false, inputs: ['containers', 'host'] });
    const text = await m.registry.metrics();
    for (const reason of KNOWN_LABELS.bytesLost.reason) expect(text).toContain(`warden_bytes_lost_total{reason="${reason}"} 0`);
    expect(text).toContain('warden_tail_refused_total{reason="outside_roots"} 0');
    expect(text).toContain('warden_config_reloads_total{result="refused",trigger="watch"} 0');
    expect(text).toContain('warden_child_restarts_total{reason="oom_killed"} 0');
    expect(text).toContain('warden_tail_lines_read_total{input="host"} 0');
    expect(text).toContain('warden_budget_violations_total{who="child",resource="cpu",action="duty_cycle"} 0');
    expect(text).toContain('warden_budget_violations_total{who="pod",resource="memory",action="restart"} 0');
    // Each machine's own actions only: the agent is never duty-cycled.
    expect(text).not.toMatch(/warden_budget_violations_total\{who="agent",resource="cpu",action="duty_cycle"\}/);
  });

  it('event loop lag reads near 0 on an idle loop (not the sampling resolution), and sees a real stall', async () => {
    const m = createMetrics();
    // Samples need a few ticks of the 100 ms timer.
    await sleep(600);
    await m.registry.metrics(); // starts a fresh window
    await sleep(600);
    const idle = await m.registry.metrics();
    // The old gauges read ≥ 0.25 s here (their 250 ms timer); a loaded machine adds some real lag.
    expect(value(idle, 'warden_nodejs_eventloop_lag_p50_seconds')).toBeLessThan(0.1);
    expect(value(idle, 'warden_nodejs_eventloop_lag_min_seconds')).toBeLessThan(0.05);

    // The histogram's first tick after a reset (a scrape) only sets its baseline.
    await sleep(250);
    const until = performance.now() + 400;
    while (performance.now() < until) {
      // a stall: the loop is blocked for 400 ms
    }
    const stalled = await waitFor('a sample after the stall', async () => {
      await sleep(150);
      const t = await m.registry.metrics();
      return value(t, 'warden_nodejs_eventloop_lag_max_seconds') > 0 ? t : null;
    });
    expect(value(stalled, 'warden_nodejs_eventloop_lag_max_seconds')).toBeGreaterThan(0.25);
  });
});
