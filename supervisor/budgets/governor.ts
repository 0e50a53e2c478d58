// The budget governor: samples the child's process tree and warden itself, asks the pure policy
// what to do, and does it — signals, graceful restarts, the tail's read rate and shedding, the
// duty cycle — logging and counting every action. It knows the child and the tail only through
// ChildHandle and TailControl.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Metrics } from '../../agent/health/metrics.js';
import type { ChildHandle, ChildStatus, TailControl } from '../contracts.js';
import type { Logger } from '../log.js';
import { delegatedCgroupV2, type CgroupSources, type Limits } from './cgroup.js';
import { deriveBudgets, type Budgets } from './derive.js';
import { DutyCycler } from './duty.js';
import { setupKernelCgroup, type KernelCgroup } from './kernel.js';
import { NodeSampler, type NodeFigures } from './node.js';
import { decide, initialPolicyState, restartSettled, type Action, type PolicyParams, type PolicyState } from './policy.js';
import { SelfSampler, TreeSampler, type SelfSample, type TreeSample } from './proc.js';

export type BudgetMode = 'kernel' | 'watchdog';

export interface BudgetGovernorOptions {
  config: Config['budgets'];
  child: ChildHandle;
  tail?: TailControl;
  logger: Logger;
  metrics: Metrics;
  limits: Limits;
  procRoot?: string;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** Where node figures look for free disk; default the current directory. */
  stateDir?: string;
  /** Where to look for a delegated cgroup v2 (fixture trees in tests); false = never use kernel mode. */
  cgroup?: CgroupSources | false;
}

export interface ActionRecord {
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
  budgets: {
    child: { cpu_millicores: number; memory_bytes: number };
    agent: { cpu_millicores: number; memory_bytes: number };
    child_hard_memory_bytes: number;
    how: string;
  };
  usage: {
    child: { pid: number; pids: number[]; cpu_millicores: number | null; rss_bytes: number; pss_bytes: number | null; memory_bytes: number } | null;
    agent: { cpu_millicores: number | null; rss_bytes: number } | null;
    node: NodeFigures | null;
  };
  enforcement: { read_rate_limit_bytes_per_s: number | null; duty_stop_fraction: number; shedding: boolean };
  /** Counts of violations by `who.resource.action`. */
  violations: Record<string, number>;
  /** The most recent actions, oldest first. */
  actions: ActionRecord[];
  /** One row per who × resource, formatted for `warden status`. */
  rows: { who: 'child' | 'agent'; resource: 'cpu' | 'memory'; usage: string; budget: string; violations: number }[];
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
  private readonly params: PolicyParams;
  private readonly procRoot: string;
  private mode: BudgetMode = 'watchdog';
  private modeReason = 'not started';
  private kernel: KernelCgroup | null = null;
  private state: PolicyState = initialPolicyState();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private lastChild: TreeSample | null = null;
  private lastSelf: SelfSample | null = null;
  private readonly violations: Record<string, number> = {};
  private readonly actions: ActionRecord[] = [];
  private oomAdjFailed = false;
  private readProbe: { at: number; total: number } | null = null;

  constructor(opts: BudgetGovernorOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => performance.now());
    this.procRoot = opts.procRoot ?? '/proc';
    const windowMs = 3 * opts.config.sample_interval_ms;
    this.tree = new TreeSampler({ procRoot: this.procRoot, windowMs, now: this.now });
    this.self = new SelfSampler(windowMs, this.now);
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
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.chooseMode();
    this.params.mode = this.mode;
    const { metrics } = this.opts;
    metrics.budgetLimit.set({ who: 'child', resource: 'cpu' }, this.budgets.child.cpuMillicores);
    metrics.budgetLimit.set({ who: 'child', resource: 'memory' }, this.budgets.child.memoryBytes);
    metrics.budgetLimit.set({ who: 'agent', resource: 'cpu' }, this.budgets.agent.cpuMillicores);
    metrics.budgetLimit.set({ who: 'agent', resource: 'memory' }, this.budgets.agent.memoryBytes);
    this.opts.logger.info({ mode: this.mode, mode_reason: this.modeReason, how: this.budgets.how, limits: this.opts.limits }, 'budgets in force');
    this.opts.child.on('state', (s: ChildStatus) => this.onChildState(s));
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
    return {
      mode: this.mode,
      mode_reason: this.modeReason,
      limits: this.opts.limits,
      budgets: {
        child: { cpu_millicores: this.budgets.child.cpuMillicores, memory_bytes: this.budgets.child.memoryBytes },
        agent: { cpu_millicores: this.budgets.agent.cpuMillicores, memory_bytes: this.budgets.agent.memoryBytes },
        child_hard_memory_bytes: this.budgets.childHardMemoryBytes,
        how: this.budgets.how,
      },
      usage: {
        child: c ? { pid: c.rootPid, pids: c.pids, cpu_millicores: c.cpuMillicores, rss_bytes: c.rssBytes, pss_bytes: c.pssBytes, memory_bytes: c.memoryBytes } : null,
        agent: this.lastSelf ? { cpu_millicores: this.lastSelf.cpuMillicores, rss_bytes: this.lastSelf.rssBytes } : null,
        node: this.node.latest(),
      },
      enforcement: { read_rate_limit_bytes_per_s: this.state.rateLimit, duty_stop_fraction: this.state.dutyStop, shedding: this.state.shedding },
      violations: { ...this.violations },
      actions: [...this.actions],
      rows: this.rows(),
    };
  }

  private rows(): BudgetSnapshot['rows'] {
    const c = this.lastChild;
    const a = this.lastSelf;
    const milli = (n: number | null | undefined) => (n == null ? '-' : `${n}m`);
    const mi = (n: number | null | undefined) => (n == null ? '-' : `${(n / 1048576).toFixed(1)}Mi`);
    const count = (prefix: string) => Object.entries(this.violations).reduce((sum, [k, v]) => (k.startsWith(prefix) ? sum + v : sum), 0);
    return [
      { who: 'child', resource: 'cpu', usage: milli(c?.cpuMillicores), budget: milli(this.budgets.child.cpuMillicores), violations: count('child.cpu.') },
      { who: 'child', resource: 'memory', usage: mi(c?.memoryBytes), budget: mi(this.budgets.child.memoryBytes), violations: count('child.memory.') },
      { who: 'agent', resource: 'cpu', usage: milli(a?.cpuMillicores), budget: milli(this.budgets.agent.cpuMillicores), violations: count('agent.cpu.') },
      { who: 'agent', resource: 'memory', usage: mi(a?.rssBytes), budget: mi(this.budgets.agent.memoryBytes), violations: count('agent.memory.') },
    ];
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

  private async tick(): Promise<number> {
    const pid = this.opts.child.pid();
    let child: TreeSample | null = null;
    if (pid !== null) {
      child = this.tree.sample(pid);
      if (child) for (const p of child.newPids) this.adoptNewPid(p);
    } else this.tree.reset();
    this.lastChild = child;
    this.lastSelf = this.self.sample();
    this.node.tick();
    const readBytesPerSec = await this.readRate();
    if (!this.running) return this.params.sampleIntervalMs;

    const decision = decide(
      this.state,
      {
        at: this.now(),
        child: child ? { pid: child.rootPid, cpuMillicores: child.cpuMillicores, cpuMillicoresLast: child.cpuMillicoresLast, memoryBytes: child.memoryBytes } : null,
        agent: { cpuMillicores: this.lastSelf.cpuMillicores, memoryBytes: this.lastSelf.rssBytes },
        readBytesPerSec,
      },
      this.budgets,
      this.params,
    );
    this.state = decision.state;
    for (const a of decision.actions) this.execute(a);

    const { metrics } = this.opts;
    if (child) {
      if (child.cpuMillicores !== null) metrics.budgetUsage.set({ who: 'child', resource: 'cpu' }, child.cpuMillicores);
      metrics.budgetUsage.set({ who: 'child', resource: 'memory' }, child.memoryBytes);
    }
    if (this.lastSelf.cpuMillicores !== null) metrics.budgetUsage.set({ who: 'agent', resource: 'cpu' }, this.lastSelf.cpuMillicores);
    metrics.budgetUsage.set({ who: 'agent', resource: 'memory' }, this.lastSelf.rssBytes);
    return decision.nextIntervalMs;
  }

  private execute(a: Action): void {
    const { logger, metrics, child, tail } = this.opts;
    const record: ActionRecord = { at: new Date().toISOString(), who: a.who, resource: a.resource, action: a.action, detail: a.detail };
    if (a.value !== undefined) record.value = a.value;
    if (a.violation) {
      metrics.budgetViolations.inc({ who: a.who, resource: a.resource, action: a.action });
      const key = `${a.who}.${a.resource}.${a.action}`;
      this.violations[key] = (this.violations[key] ?? 0) + 1;
      logger.warn({ who: a.who, resource: a.resource, action: a.action, value: a.value, detail: a.detail }, 'budget action');
    } else logger.debug({ who: a.who, resource: a.resource, action: a.action, value: a.value, detail: a.detail }, 'budget adjustment');
    this.actions.push(record);
    if (this.actions.length > KEEP_ACTIONS) this.actions.shift();

    switch (a.action) {
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
      case 'report':
        break;
    }
  }

  /** A new process in the child's tree: first in line for the OOM killer, and into the child's cgroup in kernel mode. */
  private adoptNewPid(pid: number): void {
    try {
      writeFileSync(join(this.procRoot, String(pid), 'oom_score_adj'), '1000\n');
    } catch (err) {
      if (!this.oomAdjFailed) this.opts.logger.warn({ pid, err: (err as Error).message }, 'cannot raise the child\'s oom_score_adj; the kernel may pick warden first');
      this.oomAdjFailed = true;
    }
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
