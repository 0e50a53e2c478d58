// The pod's memory machine, on the memory the kernel could not reclaim (usage less clean file pages,
// never above the working set): over POD.pressure of the limit → fewer chunks in flight → ≥
// POD.flush: the child flushes → ≥ memory_hard_share: the child restarts, before the OOM killer.
// The working set alone would also count active clean file pages (warden's mapped executable, log
// pages read twice), which the kernel drops before any OOM kill: a pod on a node sits near 80% of
// 200Mi in working set with nothing at risk, and acting on that only slows it and, at the last
// rung, loses the child's buffer.
import { mib, percent } from '../../../core/units.js';
import type { Budgets } from '../derive.js';
import { dwellMs, POD, POD_WINDOW, type PolicyParams, type PolicySample } from './model.js';
import type { Step } from './step.js';

const KEY = 'pod.memory';

/**
 * The pod memory the machine acts on: unreclaimable, capped at the working set (dirty pages count
 * as held, yet are inactive: never more eager than the working set alone); the working set where
 * the unreclaimable figure is unknown.
 */
export function podHeldBytes(pod: PolicySample['pod']): number {
  const ws = pod.workingSetBytes ?? 0;
  return Math.min(ws, pod.unreclaimableBytes ?? ws);
}

/** The next rungs of the ladder the level has reached, each pulled once per episode. */
function escalatePod(s: Step, what: string, level: number, hasChild: boolean, params: PolicyParams): void {
  if (s.m(KEY).step < 1) {
    s.state.window = POD_WINDOW;
    s.act(KEY, { action: 'window', value: POD_WINDOW, detail: `${what}: ${POD_WINDOW} chunks in flight` }, 1);
  }
  if (level >= POD.flush && s.m(KEY).step < 2 && hasChild) {
    s.act(KEY, { action: 'flush', detail: `${what}: child asked to flush` }, 2);
  }
  if (level >= params.memoryHardShare && s.m(KEY).step < 3 && hasChild && !s.state.restarting) {
    s.state.restarting = true;
    s.act(KEY, { action: 'restart', detail: `${what}, at or over memory_hard_share ${params.memoryHardShare}: child restarted before the OOM killer` }, 3);
  }
}

export function podMemory(s: Step, sample: PolicySample, budgets: Budgets, params: PolicyParams): void {
  const key = KEY;
  const limit = budgets.pod.memoryBytes;
  const ws = sample.pod.workingSetBytes;
  if (limit === null || ws === null) return;
  const held = podHeldBytes(sample.pod);
  const level = held / limit;
  const m = s.m(key);
  const what = `unreclaimable ${mib(held)} = ${percent(level)} of ${mib(limit)} (working set ${mib(ws)})`;
  const releaseWindow = () => {
    if (s.state.window !== null) {
      s.state.window = null;
      s.act(key, { action: 'window', value: null, detail: `${what}: chunks in flight back to the maximum` });
    }
  };
  const escalate = () => escalatePod(s, what, level, sample.child !== null, params);
  switch (m.phase) {
    case 'normal':
      if (level >= POD.pressure) s.go(key, 'pressure', what);
      // A jump straight past the flush share does not wait for a second sample.
      if (level >= POD.flush) {
        s.go(key, 'acting', what);
        escalate();
      }
      return;
    case 'pressure':
      if (level < POD.exit) s.go(key, 'normal', what);
      else if (level >= POD.pressure) {
        s.go(key, 'acting', what);
        escalate();
      }
      return;
    case 'acting':
      escalate();
      if (level < POD.exit && s.dwelt(key) >= dwellMs(params)) {
        s.go(key, 'recovered', what);
        releaseWindow();
      }
      return;
    case 'recovered':
      if (level >= POD.pressure) {
        s.go(key, 'acting', what);
        escalate();
      } else if (s.dwelt(key) >= dwellMs(params)) s.go(key, 'normal', what);
      return;
  }
}
