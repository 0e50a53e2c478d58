import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DutyCycler } from '../../../supervisor/budgets/duty.js';

/** A recording stand-in for the child's process group (signals are the only thing under test). */
function recorder() {
  const log: { sig: NodeJS.Signals; at: number }[] = [];
  return { log, signalGroup: (sig: NodeJS.Signals) => (log.push({ sig, at: Date.now() }), true) };
}

describe('DutyCycler (fake timers, recording signaller)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('stops for the share of each 100 ms period and continues in between', () => {
    const r = recorder();
    const d = new DutyCycler(r);
    d.set(0.8);
    vi.advanceTimersByTime(1000);
    d.stop();
    const stops = r.log.filter((e) => e.sig === 'SIGSTOP');
    expect(stops.length).toBeGreaterThanOrEqual(10);
    let stoppedMs = 0;
    for (let i = 0; i < r.log.length; i++) {
      if (r.log[i].sig !== 'SIGSTOP') continue;
      const cont = r.log.slice(i + 1).find((e) => e.sig === 'SIGCONT')!;
      expect(cont.at - r.log[i].at).toBeLessThanOrEqual(100);
      stoppedMs += cont.at - r.log[i].at;
    }
    expect(stoppedMs).toBeGreaterThanOrEqual(780);
    expect(stoppedMs).toBeLessThanOrEqual(820);
  });

  it('caps the stopped share so no stop lasts the whole period', () => {
    const r = recorder();
    const d = new DutyCycler(r);
    d.set(1);
    expect(d.stopFraction).toBe(0.95);
    vi.advanceTimersByTime(300);
    d.stop();
  });

  it('always ends with SIGCONT: on stop() mid-slice and on set(0)', () => {
    const r = recorder();
    const d = new DutyCycler(r);
    d.set(0.5);
    vi.advanceTimersByTime(20); // inside a stopped slice
    expect(r.log.at(-1)!.sig).toBe('SIGSTOP');
    d.stop();
    expect(r.log.at(-1)!.sig).toBe('SIGCONT');
    vi.advanceTimersByTime(500);
    expect(r.log.at(-1)!.sig).toBe('SIGCONT');
    d.set(0.5);
    vi.advanceTimersByTime(10);
    d.set(0);
    expect(r.log.at(-1)!.sig).toBe('SIGCONT');
    vi.advanceTimersByTime(500);
    expect(r.log.filter((e) => e.sig === 'SIGSTOP').length).toBe(2);
  });
});
