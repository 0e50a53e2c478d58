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

  it('a period that begins late stops the child longer by the lateness', () => {
    const r = recorder();
    const d = new DutyCycler(r, 100, () => Date.now());
    d.set(0.5);
    vi.advanceTimersByTime(60); // stopped 0..50, running since
    // The event loop stalls 30 ms: the next period's timer fires at 130 by the clock.
    vi.setSystemTime(Date.now() + 30);
    vi.advanceTimersByTime(40);
    expect(r.log.at(-1)!.sig).toBe('SIGSTOP');
    const stoppedAt = r.log.at(-1)!.at;
    vi.advanceTimersByTime(100);
    const cont = r.log.find((e, i) => e.sig === 'SIGCONT' && r.log[i - 1] && r.log[i - 1]!.at === stoppedAt)!;
    // 50 asked, 30 late: 80, so over the two periods the child ran 100 of 200 ms.
    expect(cont.at - stoppedAt).toBe(80);
    d.stop();
  });

  it('a SIGCONT that came late already stopped the child longer: the next stop is not lengthened again', () => {
    const r = recorder();
    const d = new DutyCycler(r, 100, () => Date.now());
    const t0 = Date.now();
    d.set(0.5);
    vi.advanceTimersByTime(40); // stopped since 0, its SIGCONT due at 50
    // The event loop stalls 90 ms inside the stop: the SIGCONT goes out at 140, not 50.
    vi.setSystemTime(Date.now() + 90);
    vi.advanceTimersByTime(60);
    const late = r.log.filter((e) => e.sig === 'SIGCONT');
    expect(late.at(-1)!.at - t0).toBe(140);
    // The next period begins 50 ms after it (the child ran as planned since): a plain 50 ms stop.
    expect(r.log.at(-1)!.sig).toBe('SIGSTOP');
    const stoppedAt = r.log.at(-1)!.at;
    expect(stoppedAt - t0).toBe(190);
    vi.advanceTimersByTime(100);
    const cont = r.log.find((e) => e.sig === 'SIGCONT' && e.at > stoppedAt)!;
    expect(cont.at - stoppedAt).toBe(50);
    d.stop();
  });

  it('a period later than the cap allows for: stopped 95 ms of it, not more', () => {
    const r = recorder();
    const d = new DutyCycler(r, 100, () => Date.now());
    d.set(0.5);
    vi.advanceTimersByTime(60);
    vi.setSystemTime(Date.now() + 70);
    vi.advanceTimersByTime(40);
    const stoppedAt = r.log.at(-1)!.at;
    expect(r.log.at(-1)!.sig).toBe('SIGSTOP');
    vi.advanceTimersByTime(100);
    const cont = r.log.find((e) => e.sig === 'SIGCONT' && e.at > stoppedAt)!;
    expect(cont.at - stoppedAt).toBe(95);
    d.stop();
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
