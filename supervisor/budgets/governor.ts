// The budget governor: samples the pod's cgroup, the child's process tree and warden itself, asks
// the pure policy what to do, and does it — the Forward client's in-flight window, signals,
// graceful restarts, the tail's read rate and shedding, the duty cycle, the CPU priorities —
// logging one line per state transition and counting every action. It knows the child, the tail
// and the Forward client only through ChildHandle, TailControl and ForwardControl.
import { writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Metrics } from '../../agent/health/metrics.js';
import type { ChildHandle, ChildStatus, TailControl } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import { mi, millicores } from '../../core/units.js';
import { delegatedCgroupV2, readPodUsage, type CgroupSources, type Limits } from './cgroup.js';
import { deriveBudgets, type Budgets } from './derive.js';
import { DutyCycler } from './duty.js';
import { setupKernelCgroup, type KernelCgroup } from './kernel.js';
import { NodeSampler, type NodeFigures } from './node.js';
import { MACHINES, decide, initialPolicyState, restartSettled, type Action, type MachineKey, type Phase, type PolicyParams, type PolicyState, type Transition } from './policy.js';
import { TreeWalker } from '../procfs/tree.js';
import { RateWindow, SelfSampler, TreeSampler, type SelfSample, type TreeSample } from './proc.js';

/** The Forward client's lever: fewer chunks in flight, so the child buffers less (null = the configured maximum). */
export interface ForwardControl {
  setMaxInflight(chunks: number | null): void;
}

export type BudgetMode = 'kernel' | 'watchdog';

export interface BudgetGovernorOptions {
  config: Config['budgets'];
  child: ChildHandle;
  tail?: TailControl;
  forward?: ForwardControl;
  logger: Logger;
  metrics: Metrics;
  limits: Limits;
  procRoot?: string;
  /**
   * The walker of the child's process tree, shared with the child supervisor so that one walk per
   * tick serves both; default one of its own over `procRoot`.
   */
  walker?: TreeWalker;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** Where node figures look for free disk; default the current directory. */
  stateDir?: string;
  /** Where to look for a delegated cgroup v2 (fixture trees in tests); false = never use kernel mode. */
  cgroup?: CgroupSources | false;
}

export interface ActionRecord {
  /** The state machine the action belongs to, e.g. `pod.memory`. */
  resource_key: MachineKey;
  at: string;
  who: Action['who'];
  resource: Action['resource'];
  action: Action['action'];
  value?: number | null;
  detail: string;
}

export interface BudgetSnapshot {
  mode: BudgetMode;
  mode_reason: string;
  limits: Limits;
  /** The pod: the container's limits and its cgroup's usage (working set = usage less inactive file, as the kubelet counts). */
  pod: { cpu_limit_millicores: number | null; memory_limit_bytes: number | null; working_set_bytes: number | null; cpu_millicores: number | null };
  budgets: {
    child: { cpu_millicores: number; cpu_enforced: boolean; memory_bytes: number };
    agent: { cpu_millicores: number | null; cpu_enforced: boolean; memory_bytes: number };
    child_hard_memory_bytes: number;
    how: string;
  };
  usage: {
    child: { pid: number; pids: number[]; cpu_millicores: number | null; rss_bytes: number; pss_bytes: number | null; memory_bytes: number; share_of_pod: number | null } | null;
    /** memory_bytes: anonymous RSS, what the agent's budget compares. */
    agent: { cpu_millicores: number | null; rss_bytes: number; memory_bytes: number; share_of_pod: number | null } | null;
    node: NodeFigures | null;
  };
  /** One state machine per resource: its phase, since when, and why. */
  states: Record<MachineKey, { state: Phase; since_s: number; reason: string }>;
  enforcement: {
    read_rate_limit_bytes_per_s: number | null;
    duty_stop_fraction: number;
    shedding: boolean;
    /** Chunks in flight asked of the Forward client; null = forward.max_inflight_batches. */
    max_inflight: number | null;
    /** Nice values: warden's main thread and the child's root process (null when unknown). */
    nice: { agent: number | null; child: number | null };
  };
  /** Counts of violations by `who.resource.action`. */
  violations: Record<string, number>;
  /** The most recent actions, oldest first. */
  actions: ActionRecord[];
  /** One row per resource (state machine), formatted for `warden status`. */
  rows: { resource: MachineKey; state: Phase; usage: string; budget: string; reason: string; actions: number }[];
}

const KEEP_ACTIONS = 50;
/** Governor ticks between refreshes of the node figures. */
const NODE_FIGURES_EVERY = 60;

export class BudgetGovernor {
  readonly budgets: Budgets;
  private readonly opts: BudgetGovernorOptions;
  private readonly now: () => number;
  private readonly tree: TreeSampler;
  private readonly self: SelfSampler;
  private readonly node: NodeSampler;
  private readonly duty: DutyCycler;
  private readonly podCpu: RateWindow;
  private readonly params: PolicyParams;
  private readonly procRoot: string;
  private mode: BudgetMode = 'watchdog';
  private modeReason = 'not started';
  private kernel: KernelCgroup | null = null;
  private state: PolicyState;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private lastChild: TreeSample | null = null;
  private lastSelf: SelfSample | null = null;
  private lastPod: { workingSetBytes: number | null; cpuMillicores: number | null } = { workingSetBytes: null, cpuMillicores: null };
  private readonly violations: Record<string, number> = {};
  private readonly actions: ActionRecord[] = [];
  private oomAdjFailed = false;
  private niceFailed = false;
  /** warden's nice value when it was constructed: what the child is given back after inheriting a nicer one. */
  private readonly baseNice: number | null;
  private readProbe: { at: number; total: number } | null = null;

  constructor(opts: BudgetGovernorOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => performance.now());
    this.procRoot = opts.procRoot ?? '/proc';
    const windowMs = 3 * opts.config.sample_interval_ms;
    this.tree = new TreeSampler({ walker: opts.walker ?? new TreeWalker({ procRoot: this.procRoot, now: this.now }), windowMs });
    this.self = new SelfSampler(windowMs, this.now);
    this.podCpu = new RateWindow(windowMs);
    // Node figures are context in /status, not policy inputs; their refresh forks `df` (and a fork
    // of a ~90 MiB process costs its page tables), so once a minute at the default interval.
    this.node = new NodeSampler(opts.stateDir ?? process.cwd(), NODE_FIGURES_EVERY);
    this.duty = new DutyCycler(opts.child);
    this.budgets = deriveBudgets(opts.config, opts.limits);
    this.params = {
      memorySustainMs: opts.config.memory_sustain_s * 1000,
      cpuSustainMs: opts.config.cpu_sustain_s * 1000,
      cpuAction: opts.config.cpu_action,
      mode: 'watchdog',
      sampleIntervalMs: opts.config.sample_interval_ms,
      memoryHardShare: opts.config.memory_hard_share,
    };
    this.state = initialPolicyState(this.now());
    this.baseNice = niceOf(0);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.chooseMode();
    this.params.mode = this.mode;
    this.state = initialPolicyState(this.now());
    const { metrics } = this.opts;
    const b = this.budgets;
    metrics.budgetCpuLimit.set({ who: 'child' }, b.child.cpuMillicores);
    if (b.agent.cpuMillicores !== null) metrics.budgetCpuLimit.set({ who: 'agent' }, b.agent.cpuMillicores);
    if (b.pod.cpuMillicores !== null) metrics.budgetCpuLimit.set({ who: 'pod' }, b.pod.cpuMillicores);
    metrics.budgetMemoryLimit.set({ who: 'child' }, b.child.memoryBytes);
    metrics.budgetMemoryLimit.set({ who: 'agent' }, b.agent.memoryBytes);
    if (b.pod.memoryBytes !== null) metrics.budgetMemoryLimit.set({ who: 'pod' }, b.pod.memoryBytes);
    this.publishStates();
    this.opts.logger.info({ mode: this.mode, mode_reason: this.modeReason, how: b.how, limits: this.opts.limits }, 'budgets in force');
    this.opts.child.on('state', (s: ChildStatus) => this.onChildState(s));
    const pid = this.opts.child.pid();
    if (pid !== null) this.givePriority(pid);
    this.schedule(0);
  }

  /** Stops sampling; a duty-cycled child is continued before this returns. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.duty.stop();
    this.state = { ...this.state, dutyStop: 0 };
  }

  snapshot(): BudgetSnapshot {
    const c = this.lastChild;
    const a = this.lastSelf;
    const b = this.budgets;
    const podLimit = b.pod.memoryBytes;
    const share = (n: number) => (podLimit ? +(n / podLimit).toFixed(3) : null);
    const at = this.now();
    const states = {} as BudgetSnapshot['states'];
    for (const k of MACHINES) {
      const m = this.state.machines[k];
      states[k] = { state: m.phase, since_s: Math.round((at - m.since) / 100) / 10, reason: m.reason };
    }
    const childPid = this.opts.child.pid();
    return {
      mode: this.mode,
      mode_reason: this.modeReason,
      limits: this.opts.limits,
      pod: { cpu_limit_millicores: b.pod.cpuMillicores, memory_limit_bytes: podLimit, working_set_bytes: this.lastPod.workingSetBytes, cpu_millicores: this.lastPod.cpuMillicores },
      budgets: {
        child: { cpu_millicores: b.child.cpuMillicores, cpu_enforced: b.child.cpuEnforced, memory_bytes: b.child.memoryBytes },
        agent: { cpu_millicores: b.agent.cpuMillicores, cpu_enforced: b.agent.cpuEnforced, memory_bytes: b.agent.memoryBytes },
        child_hard_memory_bytes: b.childHardMemoryBytes,
        how: b.how,
      },
      usage: {
        child: c
          ? { pid: c.rootPid, pids: c.pids, cpu_millicores: c.cpuMillicores, rss_bytes: c.rssBytes, pss_bytes: c.pssBytes, memory_bytes: c.memoryBytes, share_of_pod: share(c.memoryBytes) }
          : null,
        agent: a ? { cpu_millicores: a.cpuMillicores, rss_bytes: a.rssBytes, memory_bytes: a.anonBytes, share_of_pod: share(a.anonBytes) } : null,
        node: this.node.latest(),
      },
      states,
      enforcement: {
        read_rate_limit_bytes_per_s: this.state.rateLimit,
        duty_stop_fraction: this.state.dutyStop,
        shedding: this.state.shedding,
        max_inflight: this.state.window,
        nice: { agent: niceOf(0), child: childPid === null ? null : niceOf(childPid) },
      },
      violations: { ...this.violations },
      actions: [...this.actions],
      rows: this.rows(states),
    };
  }

  private rows(states: BudgetSnapshot['states']): BudgetSnapshot['rows'] {
    const c = this.lastChild;
    const a = this.lastSelf;
    const b = this.budgets;
    const cpuBudget = (n: number | null, enforced: boolean) => (n === null ? '-' : `${n}m${enforced ? '' : ' (share)'}`);
    const count = (key: MachineKey) => Object.entries(this.violations).reduce((sum, [k, v]) => (k.startsWith(`${key}.`) ? sum + v : sum), 0);
    const usage: Record<MachineKey, [string, string]> = {
      'pod.memory': [mi(this.lastPod.workingSetBytes), mi(b.pod.memoryBytes)],
      'child.memory': [mi(c?.memoryBytes), mi(b.child.memoryBytes)],
      'child.cpu': [millicores(c?.cpuMillicores), cpuBudget(b.child.cpuMillicores, b.child.cpuEnforced)],
      'agent.memory': [mi(a?.anonBytes), mi(b.agent.memoryBytes)],
      'agent.cpu': [millicores(a?.cpuMillicores), cpuBudget(b.agent.cpuMillicores, b.agent.cpuEnforced)],
    };
    return MACHINES.map((k) => ({ resource: k, state: states[k].state, usage: usage[k][0], budget: usage[k][1], reason: states[k].reason, actions: count(k) }));
  }

  private chooseMode(): void {
    if (this.opts.cgroup === false) {
      this.modeReason = 'kernel mode disabled';
      return;
    }
    const d = delegatedCgroupV2(this.opts.cgroup ?? {});
    if (!d.ok) {
      this.modeReason = `no delegated cgroup v2: ${d.reason}`;
      return;
    }
    try {
      this.kernel = setupKernelCgroup(d.path, d.subtreeEnabled, this.budgets);
      this.mode = 'kernel';
      this.modeReason = `child cgroup ${this.kernel.childDir}`;
    } catch (err) {
      this.modeReason = (err as Error).message;
    }
  }

  private onChildState(s: ChildStatus): void {
    // Anything but running (stopping, backoff, stopped) must find the child continued, or its
    // stop signal would wait on a stopped process until the SIGKILL.
    if (s.state !== 'ready' && s.state !== 'starting' && this.state.dutyStop > 0) {
      this.duty.stop();
      this.state = { ...this.state, dutyStop: 0 };
    }
    if (s.pid !== null && (s.state === 'starting' || s.state === 'ready')) this.givePriority(s.pid);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.tick()
        .catch((err) => this.opts.logger.error({ err }, 'budget sampling failed'))
        .then((next) => this.schedule(next ?? this.params.sampleIntervalMs));
    }, ms);
    this.timer.unref();
  }

  private samplePod(): void {
    const paths = this.opts.limits.paths;
    if (!paths.memory && !paths.cpu && !paths.cpuacct) return;
    const u = readPodUsage(paths);
    let cpuMillicores: number | null = null;
    if (u.cpuUsageMicros !== null) {
      this.podCpu.push(this.now(), u.cpuUsageMicros);
      const rate = this.podCpu.rate();
      cpuMillicores = rate === null ? null : Math.round(rate / 1000);
    }
    this.lastPod = { workingSetBytes: u.workingSetBytes, cpuMillicores };
  }

  private async tick(): Promise<number> {
    const pid = this.opts.child.pid();
    let child: TreeSample | null = null;
    if (pid !== null) {
      child = this.tree.sample(pid);
      if (child) for (const p of child.newPids) this.adoptNewPid(p);
    } else this.tree.reset();
    this.lastChild = child;
    this.lastSelf = this.self.sample();
    this.samplePod();
    this.node.tick();
    const readBytesPerSec = await this.readRate();
    if (!this.running) return this.params.sampleIntervalMs;

    const decision = decide(
      this.state,
      {
        at: this.now(),
        pod: { workingSetBytes: this.lastPod.workingSetBytes },
        child: child ? { pid: child.rootPid, cpuMillicores: child.cpuMillicores, cpuMillicoresLast: child.cpuMillicoresLast, memoryBytes: child.memoryBytes } : null,
        agent: { cpuMillicores: this.lastSelf.cpuMillicores, memoryBytes: this.lastSelf.anonBytes },
        readBytesPerSec,
      },
      this.budgets,
      this.params,
    );
    this.state = decision.state;
    this.report(decision.transitions, decision.actions);
    for (const a of decision.actions) this.execute(a);

    const { metrics } = this.opts;
    if (child) {
      if (child.cpuMillicores !== null) metrics.budgetCpu.set({ who: 'child' }, child.cpuMillicores);
      metrics.budgetMemory.set({ who: 'child' }, child.memoryBytes);
    }
    if (this.lastSelf.cpuMillicores !== null) metrics.budgetCpu.set({ who: 'agent' }, this.lastSelf.cpuMillicores);
    metrics.budgetMemory.set({ who: 'agent' }, this.lastSelf.anonBytes);
    if (this.lastPod.cpuMillicores !== null) metrics.budgetCpu.set({ who: 'pod' }, this.lastPod.cpuMillicores);
    if (this.lastPod.workingSetBytes !== null) metrics.budgetMemory.set({ who: 'pod' }, this.lastPod.workingSetBytes);
    if (decision.transitions.length) this.publishStates();
    return decision.nextIntervalMs;
  }

  private publishStates(): void {
    for (const k of MACHINES) {
      const phase = this.state.machines[k].phase;
      for (const p of ['normal', 'pressure', 'acting', 'recovered'] as const) this.opts.metrics.budgetState.set({ resource: k, state: p }, p === phase ? 1 : 0);
    }
  }

  /**
   * One log line per transition, naming the actions that came with it; actions without a
   * transition (a lever's adjustment after a dwell, a memory escalation) get their own line —
   * at warn for the memory escalations, at debug for adjustments.
   */
  private report(transitions: Transition[], actions: Action[]): void {
    const { logger } = this.opts;
    const keyOf = (a: Action) => `${a.who}.${a.resource}` as MachineKey;
    const told = new Set<Action>();
    for (const [i, t] of transitions.entries()) {
      // A machine may pass two phases in one sample (normal → pressure → acting): its actions go with the last.
      const last = !transitions.slice(i + 1).some((u) => u.key === t.key);
      const mine = last ? actions.filter((a) => keyOf(a) === t.key && !told.has(a)) : [];
      for (const a of mine) told.add(a);
      const fields = { resource: t.key, from: t.from, to: t.to, reason: t.reason, actions: mine.map((a) => (a.value === undefined ? a.action : `${a.action}=${a.value}`)) };
      if (t.to === 'acting' || (t.to === 'pressure' && t.from === 'normal' && t.key.endsWith('memory'))) logger.warn(fields, 'budget state');
      else logger.info(fields, 'budget state');
    }
    for (const a of actions) {
      if (told.has(a)) continue;
      const fields = { who: a.who, resource: a.resource, action: a.action, value: a.value, detail: a.detail };
      if (a.action === 'flush' || a.action === 'restart' || a.action === 'window') logger.warn(fields, 'budget action');
      else logger.debug(fields, 'budget action');
    }
  }

  private execute(a: Action): void {
    const { logger, metrics, child, tail, forward } = this.opts;
    const record: ActionRecord = { at: new Date().toISOString(), resource_key: `${a.who}.${a.resource}` as MachineKey, who: a.who, resource: a.resource, action: a.action, detail: a.detail };
    if (a.value !== undefined) record.value = a.value;
    metrics.budgetViolations.inc({ who: a.who, resource: a.resource, action: a.action });
    const key = `${a.who}.${a.resource}.${a.action}`;
    this.violations[key] = (this.violations[key] ?? 0) + 1;
    this.actions.push(record);
    if (this.actions.length > KEEP_ACTIONS) this.actions.shift();

    switch (a.action) {
      case 'window':
        forward?.setMaxInflight(a.value ?? null);
        break;
      case 'flush':
        child.signalGroup('SIGUSR1');
        break;
      case 'restart': {
        this.duty.stop();
        this.state = { ...this.state, dutyStop: 0 };
        child.restart('budget_memory').then(
          () => (this.state = restartSettled(this.state)),
          (err) => {
            logger.error({ err }, 'budget restart failed');
            this.state = restartSettled(this.state);
          },
        );
        break;
      }
      case 'throttle':
      case 'unthrottle':
        tail?.setRateLimit(a.value ?? null);
        break;
      case 'duty_cycle':
        if (a.value) this.duty.set(a.value);
        else this.duty.stop();
        break;
      case 'shed':
        tail?.shed(true);
        break;
      case 'unshed':
        tail?.shed(false);
        break;
    }
  }

  /** A new process in the child's tree: first in line for the OOM killer, its CPU priority, and into the child's cgroup in kernel mode. */
  private adoptNewPid(pid: number): void {
    try {
      writeFileSync(join(this.procRoot, String(pid), 'oom_score_adj'), '1000\n');
    } catch (err) {
      if (!this.oomAdjFailed) this.opts.logger.warn({ pid, err: (err as Error).message }, 'cannot raise the child\'s oom_score_adj; the kernel may pick warden first');
      this.oomAdjFailed = true;
    }
    this.givePriority(pid);
    if (this.kernel) {
      try {
        this.kernel.adopt(pid);
      } catch (err) {
        this.opts.logger.warn({ pid, err: (err as Error).message }, 'cannot move a child process into its cgroup');
      }
    }
  }

  /**
   * The child gets the upper hand on CPU: under one quota CFS splits the pod's time by weight,
   * and warden's work is worth nothing unless the child ships it. Linux nice values are per
   * thread, and a process inherits its spawner's, so warden cannot renice itself before the
   * first spawn (the child would inherit it) and a restarted child inherits warden's nicer value.
   * So: the child's processes are given back warden's original nice value (lowering a nice
   * value needs CAP_SYS_NICE; without it the child keeps what it inherited), and warden's main
   * thread — where its reading and encoding run — goes `agent_nice` steps above the child's
   * (at most 19). Without CAP_SYS_NICE each restart moves both up by agent_nice until 19.
   */
  private givePriority(pid: number): void {
    const delta = this.opts.config.agent_nice;
    if (delta <= 0 || this.baseNice === null) return;
    const childNice = niceOf(pid);
    if (childNice === null) return;
    let effective = childNice;
    if (childNice > this.baseNice) {
      try {
        setPriority(pid, this.baseNice);
        effective = this.baseNice;
      } catch (err) {
        if (!this.niceFailed) this.opts.logger.info({ pid, nice: childNice, err: (err as Error).message }, 'cannot give the child back its nice value (no CAP_SYS_NICE); raising warden\'s instead');
        this.niceFailed = true;
      }
    }
    const want = Math.min(19, effective + delta);
    const mine = niceOf(0);
    if (mine !== null && mine < want) {
      try {
        setPriority(0, want);
        this.opts.logger.info({ agent_nice: want, child_nice: effective }, 'warden runs at a lower CPU priority than its child');
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'cannot lower warden\'s own CPU priority');
      }
    }
  }

  /** Bytes per second the tail pipeline read since the last tick, from warden_tail_bytes_read_total. */
  private async readRate(): Promise<number | null> {
    const got = await this.opts.metrics.bytesRead.get();
    const total = got.values.reduce((sum, v) => sum + v.value, 0);
    const at = this.now();
    const prev = this.readProbe;
    this.readProbe = { at, total };
    return prev && at > prev.at ? ((total - prev.total) * 1000) / (at - prev.at) : null;
  }
}

/** A process's nice value (0 = the calling thread); null when it is gone. */
function niceOf(pid: number): number | null {
  try {
    return getPriority(pid);
  } catch {
    return null;
  }
}
