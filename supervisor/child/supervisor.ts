// The child's lifetime, in order: clear what earlier children left running (leftovers.ts), spawn
// it as the leader of its own process group with this warden's mark in its environment (spawn.ts,
// marker.ts), wait until it is ready, reload it on request (reload.ts, handover.ts), stop it
// (stop.ts), and when it ends, clear what is left of its group and every marked process, classify
// the exit and take the next step (exit.ts). This class only sequences those stages and holds the
// state between runs.
// The state machine is documented on `ChildState` (core/contracts.ts).
import { TreeWalker } from '../procfs/tree.js';
import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import type { ChildHandle, ChildState, ChildStatus, ExitInfo, ExitKind, RestartReason } from '../../core/contracts.js';
import { ChildOutput } from '../child-output.js';
import { classifyExit } from '../exit-classify.js';
import { signalGroup } from '../process-group.js';
import { probeConnect, waitReady } from '../readiness.js';
import { INITIAL_POLICY_STATE, markStable, type RestartPolicyState } from '../../core/restart-policy.js';
import { OneAtATime } from '../one-at-a-time.js';
import { childEnv } from '../../core/child-env.js';
import { exitInfo, logExit, nextStep } from './exit.js';
import { findSuccessor, followSuccessor } from './handover.js';
import { endLeftovers, isLeftoverMark, markedLeftovers, type Marks } from './leftovers.js';
import { MARKER_ENV, markerValue, newToken } from './marker.js';
import { OomCounter } from '../cgroup/oom.js';
import { LAST_LINES, type ChildOptions, type ShownCommand } from './options.js';
import { PortHolders, findPortHolders, type MarkedHolder, type OwnChild, type PortHolder } from './port-holders.js';
import { childOutputPairs, compileRedaction } from './redact.js';
import { runCheck, signalReload, type ReloadResult } from './reload.js';
import { isRunning, leaderPid, newRun, type Run } from './run-state.js';
import { pipeOutput, spawnChild, spawnedLeader } from './spawn.js';
import { clearLeftovers, KILL_WAIT_MS, sampleEscaped, terminateRun } from './stop.js';
import { killByIdentity } from '../process-group.js';
import { readStat } from '../procfs/stat.js';
import { EnvironMemo } from '../procfs/environ.js';

/**
 * How often the child's tree is walked for processes that left its group (setsid): they are
 * remembered while the child lives, since once their parent exits they are PID 1's children and
 * no walk from the child finds them.
 */
const DESCENDANT_SAMPLE_MS = 1000;
/**
 * While the child starts, and while another process holds the Forward port, who holds it is
 * looked at this often.
 */
const PORT_RECHECK_MS = 500;
const monotonicNow = (): number => performance.now();

export class ChildSupervisor extends EventEmitter implements ChildHandle {
  private opts: ChildOptions;
  private state: ChildState = 'stopped';
  private wanted = false;
  private run: Run | null = null;
  private policy: RestartPolicyState = INITIAL_POLICY_STATE;
  private restarts = 0;
  private lastExit: ExitInfo | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private nextStartAt: number | null = null;
  private readonly oom: OomCounter;
  private readonly walker: TreeWalker;
  private readonly holders = new PortHolders();
  private readonly marks: Marks;
  /** Runs started so far: the next one's mark is `<token>.<runs + 1>`. */
  private runs = 0;
  /** Set while a start waits for what earlier children left running to end. */
  private preparing: Promise<void> | null = null;
  private readonly reloads = new OneAtATime<ShownCommand | undefined, ReloadResult>(
    (check) => this.doReload(check),
    (queued, check) => check ?? queued,
  );

  constructor(opts: ChildOptions) {
    super();
    this.opts = { ...opts };
    this.oom = new OomCounter({ cgroupRoot: opts.cgroupRoot });
    this.walker = opts.walker ?? new TreeWalker({ procRoot: opts.procRoot });
    const marks = opts.marks ?? { token: newToken(), since: readStat(process.pid, opts.procRoot)?.starttime ?? 0, previous: null };
    this.marks = { ...marks, environs: marks.environs ?? new EnvironMemo() };
  }

  /** Durations only (uptime, backoff, reload windows): monotonic, so a wall-clock step changes none. */
  private get now(): () => number {
    return this.opts.now ?? monotonicNow;
  }

  private get name(): string {
    return basename(this.shownCommand[0] ?? 'child');
  }

  /** Never the expanded command: a secret may have been passed into it through the environment. */
  private get shownCommand(): string[] {
    return this.opts.shownCommand ?? this.opts.command;
  }

  /** Everything the check command sees, built afresh for each; the child gets its mark on top. */
  private get env(): Record<string, string> {
    return childEnv(this.opts.baseEnv ?? process.env, this.opts.env);
  }

  /**
   * The child's environment: its mark first (early in /proc/PID/environ), over any WARDEN_CHILD
   * inherited or configured. A check command is not marked: a sweep while it runs would kill it.
   */
  private childEnv(run: Run): Record<string, string> {
    const env = this.env;
    delete env[MARKER_ENV];
    return { [MARKER_ENV]: run.marker, ...env };
  }

  /** Start supervising: spawn now, and again after every exit until stop(). */
  start(): void {
    this.wanted = true;
    if (this.run || this.backoffTimer || this.preparing) return;
    this.startRun();
  }

  /**
   * Stop restarting, stop signal to the group and to every process carrying this warden's mark,
   * SIGKILL after `stopGraceS`; resolves when they are gone.
   */
  stop(): Promise<void> {
    this.wanted = false;
    this.clearBackoff();
    const run = this.run;
    if (!run) {
      // A start waiting for leftovers to end launches nothing once stop() was called.
      if (this.preparing) return this.preparing.then(() => this.stop());
      const left = markedLeftovers(this.marks, this.opts.procRoot);
      const cleared = left.length > 0 ? endLeftovers(left, this.marks, this.clearOptions()) : Promise.resolve();
      return cleared.then(() => {
        if (this.state === 'stopped') return;
        this.setState('stopped');
        this.emit('stopped');
      });
    }
    run.intent ??= { kind: 'stop' };
    void this.terminate(run);
    return run.done;
  }

  /**
   * Graceful stop of the current process, then a start counted under `reason`: at once, except
   * for `hung`, which backs off like a crash and counts toward `degraded` (a child that never
   * acks must not be restarted in a tight loop).
   */
  async restart(reason: RestartReason): Promise<void> {
    if (!this.wanted) return;
    const run = this.run;
    if (!run) {
      if (this.preparing) return this.preparing;
      this.clearBackoff();
      this.countRestart(reason);
      this.startRun();
      return;
    }
    // A hung run backs off; so does one over its memory budget before it was stable, like a crash
    // (a child over its budget from its start would otherwise be restarted every few seconds).
    const stable = (this.now() - run.startedAt) / 1000 >= this.opts.restart.stable_after_s;
    run.intent ??= { kind: 'restart', reason, immediate: reason === 'reload' || (reason === 'budget_memory' && stable) };
    void this.terminate(run);
    await run.done;
  }

  /**
   * Check the new configuration with `checkCommand` (or the configured one), then send the reload
   * signal to the child (its leader, not the group). One at a time: calls made while a reload
   * runs share one follow-up reload, which checks the configuration as it is then. `shown` is the
   * check command as configured, for the log and the result (default `checkCommand`).
   */
  reload(checkCommand?: string[], shown: string[] | undefined = checkCommand): Promise<ReloadResult> {
    return this.reloads.run(checkCommand ? { run: checkCommand, shown: shown ?? checkCommand } : undefined);
  }

  status(): ChildStatus {
    const run = this.run;
    const running = isRunning(run);
    return {
      pid: this.pid(),
      state: this.state,
      degraded: this.policy.degraded,
      uptime_s: running ? Math.max(0, (this.now() - run.startedAt) / 1000) : 0,
      restarts: this.restarts,
      last_exit: this.lastExit,
      next_start_in_ms: this.state === 'backoff' && this.nextStartAt !== null ? Math.max(0, this.nextStartAt - this.now()) : null,
      command: [...this.shownCommand],
      port_held_by: run?.portHeldBy ?? null,
    };
  }

  pid(): number | null {
    return isRunning(this.run) ? leaderPid(this.run) : null;
  }

  signalGroup(signal: NodeJS.Signals): boolean {
    const run = this.run;
    // The group keeps its id (the spawned pid) after a handover, while pid() names the successor.
    return isRunning(run) && signalGroup(run.pid, signal);
  }

  /** New options (after a config reload); command and env apply from the next start. */
  updateOptions(partial: Partial<ChildOptions>): void {
    this.opts = { ...this.opts, ...partial };
  }

  /**
   * Processes other than the child that listen on the Forward port (TCP only): a leftover of an
   * earlier child, or a descendant that took the port, receives what warden ships.
   */
  forwardPortHolders(): PortHolder[] {
    return this.holders.get(this.opts.forwardTo, this.opts.procRoot, this.own(this.run));
  }

  /** What tells the child's processes from others: its pid, the escaped ones seen, its mark. */
  private own(run: Run | null): OwnChild {
    return run && !run.exitSeen ? { pid: run.pid, escaped: run.escaped, marker: run.marker } : { pid: null, escaped: [], marker: null };
  }

  // ---- one run, in the order it lives ------------------------------------------------------

  /**
   * Launches the next run once every process an earlier child left running (found by the mark:
   * this warden's, or the warden before's) is gone: at once when there is none.
   */
  private startRun(): void {
    const left = markedLeftovers(this.marks, this.opts.procRoot);
    if (left.length === 0) return this.launch();
    this.setState('starting');
    this.preparing = endLeftovers(left, this.marks, this.clearOptions())
      .catch((err: unknown) => this.opts.logger.error({ child: this.name, err: String(err) }, 'ending what earlier children left running failed; starting anyway'))
      .then(() => {
        this.preparing = null;
        if (this.wanted && !this.run) this.launch();
      });
  }

  private clearOptions() {
    const o = this.opts;
    return { stopSignal: o.stopSignal, stopGraceS: o.stopGraceS, killWaitMs: KILL_WAIT_MS, procRoot: o.procRoot, logger: o.logger, child: this.name };
  }

  private launch(): void {
    this.clearBackoff();
    const o = this.opts;
    const marker = markerValue(this.marks.token, ++this.runs);
    // The secrets this start hands the child (its command's expansions, the shared key), kept out
    // of what it prints into warden's log: compiled once here, applied to every line.
    const redact = compileRedaction(childOutputPairs({ run: o.command, shown: this.shownCommand }, o.env));
    const run = newRun({ marker, startedAt: this.now(), policyAtStart: this.policy, oomBefore: this.oom.read(), output: new ChildOutput(o.logger, o.metrics, this.name, LAST_LINES, redact, o.onOutputLine) });
    this.run = run;
    this.setState('starting');
    try {
      run.sub = spawnChild(o.command, this.childEnv(run));
    } catch (err) {
      queueMicrotask(() => void this.onExit(run, null, null, (err as NodeJS.ErrnoException).code ?? 'EINVAL'));
      return;
    }
    const sub = run.sub;
    sub.catch(() => {}); // reject: false already; no unhandled rejection whatever execa does
    // If `error` is emitted before `spawn`, `exit` will never be emitted: both paths lead to onExit once.
    sub.once('error', (err: NodeJS.ErrnoException) => {
      if (run.pid === null) void this.onExit(run, null, null, err.code ?? 'EUNKNOWN');
    });
    sub.once('exit', (code, signal) => void this.onExit(run, code, signal, null));
    if (sub.pid === undefined) return; // spawn failed; the error event follows

    run.pid = sub.pid;
    run.leader = spawnedLeader(sub.pid, o.procRoot);
    run.streamsClosed = pipeOutput(sub, run.output);
    o.metrics.childStarts.inc();
    o.metrics.childUp.set(1);
    o.logger.info({ child: this.name, child_pid: run.pid, command: this.shownCommand, env_keys: Object.keys(o.env) }, 'child started');
    this.emit('state', this.status());
    this.watchRun(run);
  }

  /** The timers of a started run: descendant sampling, the stable mark, the port, and the readiness probe. */
  private watchRun(run: Run): void {
    const o = this.opts;
    // Before the probe answers: a probe waits for the Forward client's next connection, and a
    // client already connected to another process when the child started makes none, so
    // /readyz would only ever say "starting" while that process takes what warden ships.
    run.holderTimer = setInterval(() => this.watchPortWhileStarting(run), PORT_RECHECK_MS);
    run.holderTimer.unref();
    // A walk up to a quarter older than the period is taken: the governor's own tick, a second
    // apart, runs a little past it, and a walk just too old would be made again.
    run.sampleTimer = setInterval(() => sampleEscaped(run, this.walker, DESCENDANT_SAMPLE_MS * 1.25), DESCENDANT_SAMPLE_MS);
    run.sampleTimer.unref();
    run.stableTimer = setTimeout(() => this.onStable(run), o.restart.stable_after_s * 1000);
    const probe = o.readyProbe ?? ((p: { timeoutMs: number; signal: AbortSignal }) => waitReady(o.forwardTo, p));
    void probe({ timeoutMs: o.readyTimeoutS * 1000, signal: run.abort.signal }).then(
      (ok) => this.onReadyResult(run, ok),
      (err) => {
        o.logger.error({ child: this.name, err: String(err) }, 'child readiness probe failed');
        this.onReadyResult(run, false);
      },
    );
  }

  private onStable(run: Run): void {
    const before = this.policy;
    this.policy = markStable(this.policy, this.opts.restart, (this.now() - run.startedAt) / 1000);
    if (this.policy !== before) {
      this.opts.metrics.childDegraded.set(0);
      this.emit('state', this.status());
    }
  }

  private watchPortWhileStarting(run: Run): void {
    if (run !== this.run || run.exitSeen || run.intent || run.ready || run.portTimer) return;
    this.notePortHolder(run, this.foreignHolder(run, this.holders.marked(this.opts.forwardTo, this.opts.procRoot, this.own(run))));
  }

  private onReadyResult(run: Run, ok: boolean): void {
    if (run !== this.run || run.exitSeen || run.intent) return;
    const o = this.opts;
    if (ok && this.heldByAnother(run)) return;
    if (run.holderTimer) clearInterval(run.holderTimer);
    run.holderTimer = null;
    if (ok) {
      run.ready = true;
      o.metrics.childReady.set(1);
      o.logger.info({ child: this.name, child_pid: run.pid, forward_to: o.forwardTo }, 'child ready');
      this.setState('ready');
      this.emit('ready');
      return;
    }
    o.logger.warn(this.notReadyFields(run), 'child did not accept a connection in time; restarting it');
    run.intent = { kind: 'restart', reason: 'ready_timeout', immediate: false };
    void this.terminate(run);
  }

  /**
   * The child was found reachable, but another process (not the child nor its descendants) listens
   * on the Forward port: what warden sends could go to it, so the child is not ready. True then;
   * the port is checked every PORT_RECHECK_MS until it is the child's alone and the child is
   * reachable (ready), or until the ready timeout (restarted as `ready_timeout`).
   */
  private heldByAnother(run: Run): boolean {
    const o = this.opts;
    const holder = this.notePortHolder(run, this.freshForeignHolder(run));
    if (!holder) return false;
    const deadline = run.startedAt + o.readyTimeoutS * 1000;
    run.portTimer = setTimeout(() => void this.recheckPort(run, deadline), PORT_RECHECK_MS);
    return true;
  }

  /** The first of `holders` that is not the child's; one an earlier child left running (marked) is killed. */
  private foreignHolder(run: Run, holders: MarkedHolder[]): MarkedHolder | null {
    const holder = holders.find((h) => !h.descendant) ?? null;
    if (holder && isLeftoverMark(holder.marker, this.marks, run.marker)) {
      const st = readStat(holder.pid, this.opts.procRoot);
      this.opts.logger.warn({ child: this.name, child_pid: run.pid, holder_pid: holder.pid, holder_comm: holder.command }, 'the Forward port is held by a process an earlier child left running; killing it');
      if (st) killByIdentity([st], this.opts.procRoot);
    }
    return holder;
  }

  /** The ready-timeout warning's fields: with `forward_error`, why warden's Forward client last failed to get through. */
  private notReadyFields(run: Run): Record<string, unknown> {
    const o = this.opts;
    const why = o.notReadyReason?.() ?? null;
    return { child: this.name, child_pid: run.pid, forward_to: o.forwardTo, ready_timeout_s: o.readyTimeoutS, ...(why ? { forward_error: why } : {}) };
  }

  /** Read afresh: readiness must not go by a view seconds old. */
  private freshForeignHolder(run: Run): MarkedHolder | null {
    return this.foreignHolder(run, findPortHolders(this.opts.forwardTo, this.opts.procRoot ?? '/proc', this.own(run)));
  }

  /** Records who holds the port (shown as `child.port_held_by`, named by /readyz); logs a new holder once. */
  private notePortHolder(run: Run, holder: MarkedHolder | null): MarkedHolder | null {
    const o = this.opts;
    const was = run.portHeldBy;
    run.portHeldBy = holder ? { pid: holder.pid, comm: holder.command } : null;
    if (holder && was?.pid !== holder.pid) {
      o.logger.warn({ child: this.name, child_pid: run.pid, forward_to: o.forwardTo, holder_pid: holder.pid, holder_comm: holder.command }, 'the Forward port is held by another process; the child is not ready while it is');
    }
    if (was?.pid !== run.portHeldBy?.pid) this.emit('state', this.status());
    return holder;
  }

  private async recheckPort(run: Run, deadline: number): Promise<void> {
    run.portTimer = null;
    if (run !== this.run || run.exitSeen || run.intent) return;
    const o = this.opts;
    const holder = this.notePortHolder(run, this.freshForeignHolder(run));
    if (!holder && (await (o.readyNow ?? (() => probeConnect(o.forwardTo, 1000)))())) return this.onReadyResult(run, true);
    if (run !== this.run || run.exitSeen || run.intent) return;
    if (this.now() < deadline) {
      run.portTimer = setTimeout(() => void this.recheckPort(run, deadline), PORT_RECHECK_MS);
      return;
    }
    const fields = this.notReadyFields(run);
    if (holder) o.logger.warn({ ...fields, holder_pid: holder.pid, holder_comm: holder.command }, 'the Forward port is still held by another process after the ready timeout; restarting the child');
    else o.logger.warn(fields, 'child did not accept a connection in time; restarting it');
    run.intent = { kind: 'restart', reason: 'ready_timeout', immediate: false };
    void this.terminate(run);
  }

  private async doReload(check: ShownCommand | undefined): Promise<ReloadResult> {
    const o = this.opts;
    const cmd = check ?? (o.checkCommand ? { run: o.checkCommand, shown: o.shownCheckCommand ?? o.checkCommand } : undefined);
    if (cmd && cmd.run.length > 0) {
      const failure = await runCheck(cmd, this.env, o.checkTimeoutS);
      if (failure) {
        o.logger.warn({ child: this.name, check_command: cmd.shown, error: failure }, 'reload refused: check command failed; child left untouched');
        return { ok: false, error: failure };
      }
    }
    if (!this.wanted) return { ok: false, error: 'child is stopped' };
    return signalReload(this.run, { reloadSignal: o.reloadSignal, procRoot: o.procRoot, logger: o.logger, child: this.name, now: this.now }, this.state);
  }

  private terminate(run: Run): Promise<boolean> {
    return terminateRun(run, { ...this.opts, marks: this.marks, child: this.name }, () => {
      this.setState('stopping');
      this.opts.metrics.childReady.set(0);
    });
  }

  private async onExit(run: Run, code: number | null, signal: NodeJS.Signals | null, spawnError: string | null): Promise<void> {
    if (run.exitSeen) return;
    if (spawnError === null && this.followHandover(run, code, signal)) return;
    if (run.followTimer) clearInterval(run.followTimer);
    run.exitSeen = true;
    try {
      await this.handleExit(run, code, signal, spawnError);
    } catch (err) {
      this.opts.logger.error({ child: this.name, err: String((err as Error)?.stack ?? err) }, 'handling the child exit failed');
    } finally {
      run.resolveDone();
    }
  }

  /** The leader exited on its own soon after a reload signal while its group lives on: follow the successor. */
  private followHandover(run: Run, code: number | null, signal: NodeJS.Signals | null): boolean {
    if (run.intent || !this.wanted) return false;
    const old = leaderPid(run);
    const next = findSuccessor(run, code, signal, this.now(), this.opts.procRoot);
    if (!next) return false;
    followSuccessor(run, next, this.opts.procRoot, () => void this.onExit(run, null, null, null));
    this.opts.logger.info({ child: this.name, child_pid: next.pid, previous_child_pid: old, pgid: run.pid }, 'child handed over to a successor after the reload signal; following it');
    this.emit('state', this.status());
    if (run.reloadAgain) {
      run.reloadAgain = false;
      this.opts.logger.info({ child: this.name, child_pid: next.pid }, 'a reload came during the handover: sending it to the successor');
      const o = this.opts;
      signalReload(run, { reloadSignal: o.reloadSignal, procRoot: o.procRoot, logger: o.logger, child: this.name, now: this.now }, this.state);
    }
    return true;
  }

  private async handleExit(run: Run, code: number | null, signal: NodeJS.Signals | null, spawnError: string | null): Promise<void> {
    const o = this.opts;
    run.abort.abort();
    if (run.stableTimer) clearTimeout(run.stableTimer);
    if (run.sampleTimer) clearInterval(run.sampleTimer);
    if (run.portTimer) clearTimeout(run.portTimer);
    if (run.holderTimer) clearInterval(run.holderTimer);
    o.metrics.childUp.set(0);
    o.metrics.childReady.set(0);
    const endedAt = this.now();
    if (run.pid !== null) await clearLeftovers(run as Run & { pid: number }, o.procRoot, o.logger, this.name, this.marks);

    const cls = classifyExit({ code, signal, spawnError, oomKillsBefore: run.oomBefore, oomKillsAfter: this.oom.read() });
    // `at` is shown to users: wall clock. The uptime is a duration: monotonic.
    const info = exitInfo(run, cls, new Date().toISOString(), endedAt);
    this.lastExit = info;
    this.run = null;
    logExit(o.logger, this.name, run, info, cls, run.intent?.kind === 'stop' || !this.wanted);
    this.emit('exit', info);
    this.takeNextStep(run, info);
  }

  private takeNextStep(run: Run, info: ExitInfo): void {
    const o = this.opts;
    const step = nextStep(run, info, this.wanted, this.policy, o.restart, o.random ?? Math.random);
    if (step.kind === 'stopped') {
      this.setState('stopped');
      this.emit('stopped');
      return;
    }
    if (step.kind === 'start') {
      this.countRestart(info.kind);
      this.startRun();
      return;
    }
    this.policy = step.policy;
    o.metrics.childDegraded.set(this.policy.degraded ? 1 : 0);
    if (step.kind === 'give_up') {
      this.giveUp(info);
      return;
    }
    if (this.policy.degraded) {
      o.logger.error({ child: this.name, attempt: this.policy.attempt, delay_ms: step.delayMs }, 'child is crash-looping; retrying at the maximum backoff');
    }
    this.nextStartAt = this.now() + step.delayMs;
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      if (!this.wanted) return;
      this.countRestart(info.kind);
      this.startRun();
    }, step.delayMs);
    this.setState('backoff');
  }

  /** No more starts: the supervisor's owner ends warden with exit code 3 (`gave_up`). */
  private giveUp(info: ExitInfo): void {
    const o = this.opts;
    this.wanted = false;
    o.logger.fatal({ child: this.name, failures: this.policy.attempt, give_up_after: o.restart.give_up_after, last_exit: info.reason }, 'giving up on the child: it failed child.restart.give_up_after times in a row');
    this.setState('stopped');
    this.emit('gave_up', info);
    this.emit('stopped');
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  private countRestart(reason: ExitKind): void {
    this.restarts += 1;
    this.opts.metrics.childRestarts.inc({ reason });
  }

  private clearBackoff(): void {
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    this.nextStartAt = null;
  }

  private setState(s: ChildState): void {
    this.state = s;
    this.emit('state', this.status());
  }
}
