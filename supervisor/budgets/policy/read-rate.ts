// The read rate of the tail: the lower of the CPU machines' wishes, emitted only when it changes.
import { kibPerSec } from '../../../core/units.js';
import { RATE } from './model.js';
import type { Step } from './step.js';

/** Turns the CPU machines' wishes into one read rate for the tail; an action only when it changes. */
export function applyRate(s: Step, readBytesPerSec: number | null): void {
  const st = s.state;
  const current = st.rateLimit ?? (readBytesPerSec && readBytesPerSec > 0 ? Math.min(readBytesPerSec, RATE.ceilingBytesPerSec) : RATE.ceilingBytesPerSec);
  const resolve = (w: number | null) => (w === null ? null : w < 0 ? Math.max(RATE.floorBytesPerSec, Math.round(current * -w)) : w);
  st.rateWanted = { child: resolve(st.rateWanted.child), agent: resolve(st.rateWanted.agent) };
  const wanted = [st.rateWanted.child, st.rateWanted.agent].filter((r): r is number => r !== null);
  const next = wanted.length ? Math.min(...wanted) : null;
  if (next === st.rateLimit) return;
  st.rateLimit = next;
  const who = s.rateBy ?? (st.rateWanted.child === next ? 'child' : 'agent');
  const why = s.m(`${who}.cpu`).reason;
  s.actions.push(
    next === null
      ? { who, resource: 'cpu', action: 'unthrottle', value: null, detail: `${why}: read rate limit lifted` }
      : { who, resource: 'cpu', action: 'throttle', value: next, detail: `${why}: read rate ${kibPerSec(next)}` },
  );
}
