import { describe, expect, it } from 'vitest';
import { INITIAL_POLICY_STATE, MIN_BACKOFF_MS, markStable, nextRestart, type RestartPolicyConfig, type RestartPolicyState } from '../../../core/restart-policy.js';

const cfg: RestartPolicyConfig = { backoff_initial_ms: 500, backoff_max_ms: 30_000, stable_after_s: 60, degraded_after: 5 };

function failures(n: number, random: () => number, c = cfg, uptime = 1) {
  let state: RestartPolicyState = INITIAL_POLICY_STATE;
  const out: { delayMs: number; degraded: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    const d = nextRestart(state, c, uptime, random);
    state = d.state;
    out.push({ delayMs: d.delayMs, degraded: d.state.degraded });
  }
  return { out, state };
}

describe('nextRestart', () => {
  it('doubles the ceiling per fast failure (random → 1 draws the ceiling)', () => {
    const { out } = failures(4, () => 0.999999, { ...cfg, degraded_after: 100 });
    expect(out.map((d) => d.delayMs)).toEqual([499, 999, 1999, 3999]);
  });

  it('caps the ceiling at backoff_max_ms', () => {
    const { out } = failures(12, () => 0.999999, { ...cfg, degraded_after: 100 });
    expect(Math.max(...out.map((d) => d.delayMs))).toBeLessThanOrEqual(cfg.backoff_max_ms);
    expect(out.at(-1)!.delayMs).toBe(29_999);
  });

  it('full jitter: the delay is random() times the ceiling, floored so a crash loop is never hot', () => {
    expect(nextRestart({ attempt: 3, degraded: false }, { ...cfg, degraded_after: 100 }, 0, () => 0.5).delayMs).toBe(2000);
    const zero = nextRestart(INITIAL_POLICY_STATE, cfg, 0, () => 0).delayMs;
    expect(zero).toBe(100);
    const tiny = { backoff_initial_ms: 1, backoff_max_ms: 5, stable_after_s: 60, degraded_after: 100 };
    expect(nextRestart(INITIAL_POLICY_STATE, tiny, 0, () => 0).delayMs).toBe(5);
    const small = { backoff_initial_ms: 20, backoff_max_ms: 300, stable_after_s: 60, degraded_after: 100 };
    expect(nextRestart(INITIAL_POLICY_STATE, small, 0, () => 0).delayMs).toBe(20);
    expect(nextRestart(INITIAL_POLICY_STATE, { ...small, backoff_initial_ms: 2, backoff_max_ms: 300 }, 0, () => 0).delayMs).toBe(MIN_BACKOFF_MS);
  });

  it('after degraded_after consecutive fast failures: degraded, and the delay is exactly backoff_max_ms', () => {
    const { out } = failures(8, () => 0.1);
    expect(out.map((d) => d.degraded)).toEqual([false, false, false, false, true, true, true, true]);
    for (const d of out.slice(4)) expect(d.delayMs).toBe(cfg.backoff_max_ms);
    for (const d of out.slice(0, 4)) expect(d.delayMs).toBeLessThan(cfg.backoff_max_ms);
  });

  it('give_up_after: gives up at that many fast failures in a row, a stable run in between starts the count over; never without it', () => {
    const c = { ...cfg, give_up_after: 3 };
    let state: RestartPolicyState = INITIAL_POLICY_STATE;
    const giveUp: boolean[] = [];
    for (const uptime of [1, 1, cfg.stable_after_s, 1, 1]) {
      const d = nextRestart(state, c, uptime, () => 0.5);
      state = d.state;
      giveUp.push(d.giveUp);
    }
    expect(giveUp).toEqual([false, false, false, false, true]);
    for (const never of [cfg, { ...cfg, give_up_after: null }]) {
      let s: RestartPolicyState = INITIAL_POLICY_STATE;
      for (let i = 0; i < 50; i++) {
        const d = nextRestart(s, never, 0, () => 0.5);
        expect(d.giveUp).toBe(false);
        s = d.state;
      }
    }
  });

  it('a stable run resets the attempt and clears degraded', () => {
    const { state } = failures(7, () => 0.999999);
    expect(state.degraded).toBe(true);
    const d = nextRestart(state, cfg, cfg.stable_after_s, () => 0.999999);
    expect(d.state).toEqual({ attempt: 1, degraded: false });
    expect(d.delayMs).toBe(499);
  });

  it('markStable clears a crash loop once the running child has been up stable_after_s', () => {
    const { state } = failures(7, () => 0.5);
    expect(markStable(state, cfg, 59)).toBe(state);
    expect(markStable(state, cfg, 60)).toEqual({ attempt: 0, degraded: false });
  });

  it('survives a broken random source', () => {
    for (const r of [NaN, -1, 5, Infinity]) {
      const d = nextRestart({ attempt: 2, degraded: false }, { ...cfg, degraded_after: 100 }, 0, () => r);
      expect(d.delayMs).toBeGreaterThanOrEqual(100);
      expect(d.delayMs).toBeLessThanOrEqual(2000);
    }
  });
});
