// The pod's memory machine: working set over POD.pressure of the limit → fewer chunks in flight
// → ≥ POD.flush: the child flushes → unreclaimable memory ≥ memory_hard_share: the child restarts,
// before the OOM killer. The restart waits for memory the kernel cannot drop: clean file pages in
// the working set (warden's mapped executable, log pages read twice) are reclaimed before any OOM
// kill, and restarting the child for them only loses its buffer and costs a resend.
import { mib, percent } from '../../../core/units.js';
import type { Budgets } from '../derive.js';
import { dwellMs, POD, POD_WINDOW, type PolicyParams, type PolicySample } from './model.js';
import type { Step } from './step.js';

const KEY = 'pod.memory';

/** The next rungs of the ladder the level has reached, each pulled once per episode. */
function escalatePod(s: Step, what: string, level: number, hard: { level: number; what: string }, hasChild: boolean, params: PolicyParams): void {
  if (s.m(KEY).step < 1) {
    s.state.window = POD_WINDOW;
    s.act(KEY, { action: 'window', value: POD_WINDOW, detail: `${what}: ${POD_WINDOW} chunks in flight` }, 1);
  }
  if (level >= POD.flush && s.m(KEY).step < 2 && hasChild) {
    s.act(KEY, { action: 'flush', detail: `${what}: child asked to flush` }, 2);
  }
  if (hard.level >= params.memoryHardShare && s.m(KEY).step < 3 && hasChild && !s.state.restarting) {
    s.state.restarting = true;
    s.act(KEY, { action: 'restart', detail: `${hard.what}, at or over memory_hard_share ${params.memoryHardShare}: child restarted before the OOM killer` }, 3);
  }
}

export function podMemory(s: Step, sample: PolicySample, budgets: Budgets, params: PolicyParams): void {
  const key = KEY;
  const limit = budgets.pod.memoryBytes;
  const ws = sample.pod.workingSetBytes;
  if (limit === null || ws === null) return;
  const level = ws / limit;
  const m = s.m(key);
  const what = `working set ${mib(ws)} = ${percent(level)} of ${mib(limit)}`;
  const releaseWindow = () => {
    if (s.state.window !== null) {
      s.state.window = null;
      s.act(key, { action: 'window', value: null, detail: `${what}: chunks in flight back to the maximum` });
    }
  };
  // Never more eager than the working set alone: dirty pages count as held, yet are inactive.
  const held = Math.min(ws, sample.pod.unreclaimableBytes ?? ws);
  const hard = { level: held / limit, what: `${what}, unreclaimable ${mib(held)} = ${percent(held / limit)}` };
  const escalate = () => escalatePod(s, what, level, hard, sample.child !== null, params);
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
