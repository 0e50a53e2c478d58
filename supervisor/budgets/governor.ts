// The budget governor: samples the pod's cgroup, the child's process tree and warden itself, asks
// the pure policy what to do, and does it — the Forward client's in-flight window, signals,
// graceful restarts, the tail's read rate and shedding, the duty cycle, the CPU priorities —
// logging one line per state transition and counting every action. It knows the child, the tail
// and the Forward client only through ChildHandle, TailControl and ForwardControl.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Metrics } from '../../agent/health/metrics.js';
import type { ChildHandle, ChildStatus, TailControl } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import { delegatedCgroupV2 } from '../cgroup/delegation.js';
import { readPodUsage } from '../cgroup/usage.js';
import { type CgroupSources } from '../cgroup/mounts.js';
import { type Limits } from '../cgroup/limits.js';
import { deriveBudgets, type Budgets } from './derive.js';
import { DutyCycler } from './duty.js';
import { setupKernelCgroup, type KernelCgroup } from './kernel.js';
import { NodeSampler } from './node.js';
import { ActionLog } from './action-log.js';
import { MACHINES, decide, initialPolicyState, restartSettled, type Action, type PolicyParams, type PolicyState } from './policy.js';
import { PriorityKeeper } from './priority.js';
import { TreeWalker } from '../procfs/tree.js';
import { RateWindow, SelfSampler, TreeSampler, type SelfSample, type TreeSample } from './proc.js';
import { logDecision } from './report.js';
import { budgetSnapshot, type BudgetMode, type BudgetSnapshot, type PodFigures } from './snapshot.js';

export type { ActionRecord } from './action-log.js';
export type { BudgetMode, BudgetSnapshot } from './snapshot.js';

/** The Forward client's lever: fewer chunks in flight, so the child buffers less (null = the configured maximum). */
export interface ForwardControl {
  setMaxInflight(chunks: number | null): void;
}

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
  private lastPod: PodFigures = { workingSetBytes: null, unreclaimableBytes: null, cpuMillicores: null };
  private readonly actionLog: ActionLog;
  private readonly priority: PriorityKeeper;
  private oomAdjFailed = false;
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
    this.actionLog = new ActionLog(opts.metrics);
    this.priority = new PriorityKeeper(opts.config.agent_nice, opts.logger);
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
    if (pid !== null) this.priority.give(pid);
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
    return budgetSnapshot({
      at: this.now(),
      mode: this.mode,
      modeReason: this.modeReason,
      limits: this.opts.limits,
      budgets: this.budgets,
      state: this.state,
      child: this.lastChild,
      self: this.lastSelf,
      pod: this.lastPod,
      node: this.node.latest(),
      childPid: this.opts.child.pid(),
      actions: this.actionLog,
    });
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
    if (s.pid !== null && (s.state === 'starting' || s.state === 'ready')) this.priority.give(s.pid);
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
    this.lastPod = { workingSetBytes: u.workingSetBytes, unreclaimableBytes: u.unreclaimableBytes, cpuMillicores };
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
        pod: { workingSetBytes: this.lastPod.workingSetBytes, unreclaimableBytes: this.lastPod.unreclaimableBytes },
        child: child ? { pid: child.rootPid, cpuMillicores: child.cpuMillicores, cpuMillicoresLast: child.cpuMillicoresLast, memoryBytes: child.memoryBytes } : null,
        agent: { cpuMillicores: this.lastSelf.cpuMillicores, memoryBytes: this.lastSelf.anonBytes },
        readBytesPerSec,
      },
      this.budgets,
      this.params,
    );
    this.state = decision.state;
    logDecision(this.opts.logger, decision.transitions, decision.actions);
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

  private execute(a: Action): void {
    const { logger, child, tail, forward } = this.opts;
    this.actionLog.record(a);

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
    this.priority.give(pid);
    if (this.kernel) {
      try {
        this.kernel.adopt(pid);
      } catch (err) {
        this.opts.logger.warn({ pid, err: (err as Error).message }, 'cannot move a child process into its cgroup');
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
