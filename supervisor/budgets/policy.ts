// The budget policy as a pure function: one sample and the previous state in, the next state, the
// state transitions and the actions to take out. The governor does the I/O (signals, restarts,
// the read rate, the in-flight window, shedding); this file decides, so every rule is tested
// over recorded sample series without processes or clocks.
//
// Five resources, each with its own state machine (see Machine): the pod's memory, the child's
// memory and CPU, warden's own memory and CPU. Their levers, in the order they are pulled:
//   pod memory    working set ≥ POD.pressure of the limit → fewer chunks in flight (the files are
//                 the buffer) → ≥ POD.flush: SIGUSR1 to the child → ≥ memory_hard_share: graceful
//                 restart of the child. All before the kernel's OOM killer at 100%.
//   child memory  over its budget for memory_sustain_s (sooner when its growth would reach the hard
//                 ceiling first) → flush → still over at the next sample → restart; at or over the
//                 hard ceiling → restart at once.
//   child cpu     cpu_action duty_cycle: SIGSTOP/SIGCONT slices after cpu_sustain_s (watchdog mode);
//                 cpu_action throttle: warden's read rate, only for a budget set explicitly below
//                 the container's; cpu_action none, kernel mode or a derived budget: no action.
//   agent memory  anonymous RSS ≥ SHED.on of its budget → shed (smaller batches, idle files closed).
//   agent cpu     the read rate, only for a budget set explicitly below the container's.
import type { Budgets } from './derive.js';
import { agentMemory } from './policy/agent-memory.js';
import { childMemory } from './policy/child-memory.js';
import { agentCpu, childCpu } from './policy/cpu.js';
import { fastIntervalMs, NEAR_BUDGET, POD, type Decision, type PolicySample, type PolicyParams, type PolicyState } from './policy/model.js';
import { podHeldBytes, podMemory } from './policy/pod-memory.js';
import { applyRate } from './policy/read-rate.js';
import { Step } from './policy/step.js';

export * from './policy/model.js';

/** One sample through every machine (one file each under policy/), in the order their levers are pulled. */
export function decide(prev: PolicyState, sample: PolicySample, budgets: Budgets, params: PolicyParams): Decision {
  const state: PolicyState = { ...prev, machines: { ...prev.machines }, rateWanted: { ...prev.rateWanted } };
  const s = new Step(state, sample.at);
  const child = sample.child;

  // A new child (or none): its predecessor's episodes are over. A stopped share never outlives its process.
  if ((child?.pid ?? null) !== state.childPid) {
    if (state.dutyStop > 0) s.act('child.cpu', { action: 'duty_cycle', value: 0, detail: 'child changed' });
    const wasRestart = state.restarting || s.m('child.memory').phase === 'acting';
    Object.assign(state, { childPid: child?.pid ?? null, restarting: false, childMemPrev: null, dutyStop: 0 });
    state.rateWanted.child = null;
    for (const key of ['child.memory', 'child.cpu'] as const) {
      if (s.m(key).phase !== 'normal') s.go(key, key === 'child.memory' && wasRestart ? 'recovered' : 'normal', child ? 'child restarted' : 'child gone');
    }
    // A child restarted for the pod's sake: the pod ladder starts over from its first step.
    if (s.m('pod.memory').step > 1) s.state.machines['pod.memory'] = { ...s.m('pod.memory'), step: 1 };
  }

  podMemory(s, sample, budgets, params);
  if (child) childMemory(s, child, budgets, params);
  if (child) childCpu(s, child, budgets, params);
  agentMemory(s, sample.agent.memoryBytes, budgets, params);
  agentCpu(s, sample, budgets, params);
  applyRate(s, sample.readBytesPerSec);

  const podLimit = budgets.pod.memoryBytes;
  const near =
    (child !== null && child.memoryBytes >= budgets.child.memoryBytes * NEAR_BUDGET) ||
    (podLimit !== null && sample.pod.workingSetBytes !== null && podHeldBytes(sample.pod) >= podLimit * POD.exit) ||
    s.m('child.memory').phase === 'pressure' ||
    s.m('child.memory').phase === 'acting';
  return { state, actions: s.actions, transitions: s.transitions, nextIntervalMs: near ? fastIntervalMs(params) : params.sampleIntervalMs };
}

/** The governor calls this when a restart it asked for has settled (done or failed). */
export function restartSettled(state: PolicyState): PolicyState {
  return { ...state, restarting: false };
}
