// The child's lifetime: spawn it as the leader of its own process group, stream its output into
// warden's log, wait until its Forward input accepts connections, and when it ends, clear what
// is left of its group, classify the exit and start it again per the restart policy.
// The state machine is documented on `ChildState` (core/contracts.ts).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Metrics } from '../agent/health/metrics.js';
import type { ChildHandle, ChildState, ChildStatus, ExitInfo, RestartReason } from '../core/contracts.js';
import { BACKED_UP_PAUSE_MS, ChildOutput } from './child-output.js';
import { classifyExit, oomCounterFiles, parseOomKills } from './exit-classify.js';
import type { Logger } from '../core/log.js';
import { escapedDescendants, killAndWait, listenerPids, listProcs, mergeProcs, parseProcStat, sameProcessRunning, signalGroup, terminateGroup, waitGroupGone, type ProcStat } from './process-group.js';
import { parseForwardTo } from '../agent/forward/protocol.js';

/** A process other than the child that listens on the Forward port (named in /status). */
export interface PortHolder {
  pid: number;
  command: string;
  descendant: boolean;
}
const PORT_HOLDERS_TTL_MS = 5000;
const monotonicNow = (): number => performance.now();
import { waitReady } from './readiness.js';
import { INITIAL_POLICY_STATE, markStable, nextRestart, type RestartPolicyConfig, type RestartPolicyState } from './restart-policy.js';
import { resolveCommand } from './self-command.js';

export interface ChildOptions {
  command: string[];
  /** The command as configured (`${VAR}` unexpanded): what status and the log show. Default `command`. */
  shownCommand?: string[];
  /** Extra environment on top of process.env (e.g. WARDEN_FORWARD_SHARED_KEY). Values are never logged. */
  env: Record<string, string>;
  stopSignal: NodeJS.Signals;
  reloadSignal: NodeJS.Signals;
  checkCommand?: string[];
  /** How long a check command may run before it is killed and the reload refused. Default 60. */
  checkTimeoutS?: number;
  stopGraceS: number;
  readyTimeoutS: number;
  restart: RestartPolicyConfig;
  /** tcp://HOST:PORT | unix:///PATH — the child is ready when this accepts a connection. */
  forwardTo: string;
  /**
   * How readiness is decided, instead of a bare connect to `forwardTo` (which a process squatting on
   * the port passes too): warden passes "its Forward client completed the handshake".
   */
  readyProbe?: (opts: { timeoutMs: number; signal: AbortSignal }) => Promise<boolean>;
  logger: Logger;
  metrics: Metrics;
  /** Directory holding memory.events (v2) or memory.oom_control (v1); default: this process's memory cgroup. */
  cgroupRoot?: string;
  /** Where to look for process-group members (zombie detection). Default /proc. */
  procRoot?: string;
  random?: () => number;
  /** A monotonic clock in ms (default performance.now); never compared with wall-clock times. */
  now?: () => number;
}

/** Lines kept for crash reports. */
export const LAST_LINES = 200;
export { MAX_CHILD_LINE_BYTES } from './child-output.js';
/** How long to wait for the child's pipes to drain after its group is gone, for the last lines. */
const DRAIN_WAIT_MS = 500;
/** Bound on waiting for a SIGKILLed group to vanish (a process in uninterruptible sleep). */
const KILL_WAIT_MS = 10_000;
const LOGGED_LAST_LINES = 20;
/**
 * How often the child's tree is walked for processes that left its group (setsid): they are
 * remembered while the child lives, since once their parent exits they are PID 1's children and
 * no walk from the child finds them.
 */
const DESCENDANT_SAMPLE_MS = 1000;
const CHECK_OUTPUT_TAIL = 4096;
/**
 * After a reload signal, how long an exit of the leader that leaves a successor in its group is
 * taken for a handover (fluentd ≥ 1.18's zero-downtime restart: the old supervisor exits about
 * 10 s after the new one is up), not a crash.
 */
const HANDOVER_WINDOW_MS = 120_000;
/** How often a followed successor (not our child: no exit event) is checked for being gone. */
const FOLLOW_POLL_MS = 200;

/** Why we ended a run ourselves: a stop, or a restart counted under `reason`. */
type Intent = { kind: 'stop' } | { kind: 'restart'; reason: RestartReason | 'ready_timeout'; immediate: boolean };

interface Run {
  sub: ResultPromise | null;
  /** The process we spawned: the leader of the child's process group, and that group's id. */
  pid: number | null;
  /**
   * The process that gets the reload signal and is reported as the child's pid: the spawned one,
   * or, after a handover, its successor in the same group.
   */
  leader: ProcStat | null;
  /** When the last reload signal was sent (this.now()); null before. */
  reloadedAt: number | null;
  /** The group's processes (`pid:starttime`) when it was sent: none of them is a successor. */
  groupAtReload: Set<string>;
  followTimer: NodeJS.Timeout | null;
  startedAt: number;
  /** The restart policy as this run began: a hung run's stable time does not count as stable. */
  policyAtStart: RestartPolicyState;
  oomBefore: number | null;
  ready: boolean;
  intent: Intent | null;
  exitSeen: boolean;
  terminating: Promise<boolean> | null;
  abort: AbortController;
  stableTimer: NodeJS.Timeout | null;
  /** Descendants seen outside the child's process group, still running when last looked at. */
  escaped: ProcStat[];
  sampleTimer: NodeJS.Timeout | null;
  streamsClosed: Promise<void>;
  /** This run's output: its last lines are this child's only, never an earlier one's. */
  output: ChildOutput;
  /** Resolves once the exit has been handled (group gone, ExitInfo recorded, next step taken). */
  done: Promise<void>;
  resolveDone: () => void;
}

type ReloadResult = { ok: boolean; error?: string };

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
  private oomFile: string | null | undefined;
  private reloadRunning: Promise<ReloadResult> | null = null;
  private reloadNext: { check: string[] | undefined; promise: Promise<ReloadResult> } | null = null;

  constructor(opts: ChildOptions) {
    super();
    this.opts = { ...opts };
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

  /** Start supervising: spawn now, and again after every exit until stop(). */
  start(): void {
    this.wanted = true;
    if (this.run || this.backoffTimer) return;
    this.launch();
  }

  /** Stop restarting, stop signal to the group, SIGKILL after `stopGraceS`; resolves when the group is gone. */
  stop(): Promise<void> {
    this.wanted = false;
    this.clearBackoff();
    const run = this.run;
    if (!run) {
      if (this.state !== 'stopped') {
        this.setState('stopped');
        this.emit('stopped');
      }
      return Promise.resolve();
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
      this.clearBackoff();
      this.countRestart(reason);
      this.launch();
      return;
    }
    run.intent ??= { kind: 'restart', reason, immediate: reason !== 'hung' };
    void this.terminate(run);
    await run.done;
  }

  /**
   * Check the new configuration with `checkCommand` (or the configured one), then send the reload
   * signal to the child (its leader, not the group). One at a time: calls made while a reload
   * runs share one follow-up reload, which checks the configuration as it is then.
   */
  reload(checkCommand?: string[]): Promise<ReloadResult> {
    if (!this.reloadRunning) return this.startReload(checkCommand);
    if (this.reloadNext) {
      if (checkCommand) this.reloadNext.check = checkCommand;
      return this.reloadNext.promise;
    }
    const next = { check: checkCommand, promise: undefined as unknown as Promise<ReloadResult> };
    next.promise = this.reloadRunning.then(() => {
      this.reloadNext = null;
      return this.startReload(next.check);
    });
    this.reloadNext = next;
    return next.promise;
  }

  status(): ChildStatus {
    const run = this.run;
    const running = run !== null && run.pid !== null && !run.exitSeen;
    return {
      pid: running ? (run.leader?.pid ?? run.pid) : null,
      state: this.state,
      degraded: this.policy.degraded,
      uptime_s: running ? Math.max(0, (this.now() - run.startedAt) / 1000) : 0,
      restarts: this.restarts,
      last_exit: this.lastExit,
      next_start_in_ms: this.state === 'backoff' && this.nextStartAt !== null ? Math.max(0, this.nextStartAt - this.now()) : null,
      command: [...this.shownCommand],
    };
  }

  pid(): number | null {
    return this.status().pid;
  }

  signalGroup(signal: NodeJS.Signals): boolean {
    const run = this.run;
    // The group keeps its id (the spawned pid) after a handover, while pid() names the successor.
    return run !== null && run.pid !== null && !run.exitSeen && signalGroup(run.pid, signal);
  }

  /** New options (after a config reload); command and env apply from the next start. */
  updateOptions(partial: Partial<ChildOptions>): void {
    this.opts = { ...this.opts, ...partial };
  }

  // ---- one run ----------------------------------------------------------------------------

  private launch(): void {
    this.clearBackoff();
    const o = this.opts;
    let resolveDone!: () => void;
    const run: Run = {
      sub: null,
      pid: null,
      leader: null,
      reloadedAt: null,
      groupAtReload: new Set(),
      followTimer: null,
      startedAt: this.now(),
      policyAtStart: this.policy,
      oomBefore: this.readOomKills(),
      ready: false,
      intent: null,
      exitSeen: false,
      terminating: null,
      abort: new AbortController(),
      stableTimer: null,
      escaped: [],
      sampleTimer: null,
      streamsClosed: Promise.resolve(),
      output: new ChildOutput(o.logger, o.metrics, this.name, LAST_LINES),
      done: new Promise<void>((r) => (resolveDone = r)),
      resolveDone: () => resolveDone(),
    };
    this.run = run;
    this.setState('starting');

    let sub: ResultPromise;
    try {
      const { file, args } = resolveCommand(o.command);
      sub = execa(file, args, {
        detached: true, // setsid(): the child leads its own process group, which is what we signal
        reject: false,
        buffer: false,
        stdin: 'ignore',
        stdout: 'pipe',
        stderr: 'pipe',
        env: o.env,
        extendEnv: true,
        forceKillAfterDelay: false,
      });
    } catch (err) {
      queueMicrotask(() => void this.onExit(run, null, null, (err as NodeJS.ErrnoException).code ?? 'EINVAL'));
      return;
    }
    run.sub = sub;
    sub.catch(() => {}); // reject: false already; no unhandled rejection whatever execa does
    // If `error` is emitted before `spawn`, `exit` will never be emitted: both paths lead to onExit once.
    sub.once('error', (err: NodeJS.ErrnoException) => {
      if (run.pid === null) void this.onExit(run, null, null, err.code ?? 'EUNKNOWN');
    });
    sub.once('exit', (code, signal) => void this.onExit(run, code, signal, null));
    if (sub.pid === undefined) return; // spawn failed; the error event follows

    run.pid = sub.pid;
    run.leader = readProc(sub.pid, o.procRoot) ?? { pid: sub.pid, state: 'R', ppid: process.pid, pgrp: sub.pid, starttime: 0 };
    run.streamsClosed = this.pipeOutput(sub, run.output);
    o.metrics.childStarts.inc();
    o.metrics.childUp.set(1);
    o.logger.info({ child: this.name, pid: run.pid, command: this.shownCommand, env_keys: Object.keys(o.env) }, 'child started');
    this.emit('state', this.status());

    run.sampleTimer = setInterval(() => this.sampleDescendants(run), DESCENDANT_SAMPLE_MS);
    run.sampleTimer.unref();

    const stableMs = o.restart.stable_after_s * 1000;
    run.stableTimer = setTimeout(() => {
      const before = this.policy;
      this.policy = markStable(this.policy, this.opts.restart, (this.now() - run.startedAt) / 1000);
      if (this.policy !== before) {
        this.opts.metrics.childDegraded.set(0);
        this.emit('state', this.status());
      }
    }, stableMs);

    const probe = o.readyProbe ?? ((p: { timeoutMs: number; signal: AbortSignal }) => waitReady(o.forwardTo, p));
    void probe({ timeoutMs: o.readyTimeoutS * 1000, signal: run.abort.signal }).then(
      (ok) => this.onReadyResult(run, ok),
      (err) => {
        o.logger.error({ child: this.name, err: String(err) }, 'child readiness probe failed');
        this.onReadyResult(run, false);
      },
    );
  }

  private onReadyResult(run: Run, ok: boolean): void {
    if (run !== this.run || run.exitSeen || run.intent) return;
    if (ok) {
      run.ready = true;
      this.opts.metrics.childReady.set(1);
      this.opts.logger.info({ child: this.name, pid: run.pid, forward_to: this.opts.forwardTo }, 'child ready');
      this.setState('ready');
      this.emit('ready');
      return;
    }
    this.opts.logger.warn(
      { child: this.name, pid: run.pid, forward_to: this.opts.forwardTo, ready_timeout_s: this.opts.readyTimeoutS },
      'child did not accept a connection in time; restarting it',
    );
    run.intent = { kind: 'restart', reason: 'ready_timeout', immediate: false };
    void this.terminate(run);
  }

  /** Graceful stop of one run's group; idempotent. */
  private terminate(run: Run): Promise<boolean> {
    if (!run.terminating) {
      if (run.pid === null || run.exitSeen) {
        run.terminating = Promise.resolve(true);
      } else {
        this.setState('stopping');
        this.opts.metrics.childReady.set(0);
        run.terminating = terminateGroup(run.pid, {
          signal: this.opts.stopSignal,
          graceMs: this.opts.stopGraceS * 1000,
          killWaitMs: KILL_WAIT_MS,
          procRoot: this.opts.procRoot,
          known: run.escaped,
        });
      }
    }
    return run.terminating;
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

  private async handleExit(run: Run, code: number | null, signal: NodeJS.Signals | null, spawnError: string | null): Promise<void> {
    const o = this.opts;
    run.abort.abort();
    if (run.stableTimer) clearTimeout(run.stableTimer);
    if (run.sampleTimer) clearInterval(run.sampleTimer);
    o.metrics.childUp.set(0);
    o.metrics.childReady.set(0);
    const endedAt = this.now();

    if (run.pid !== null) {
      // The leader is gone, but its workers may not be (fluentd's can outlive a killed supervisor and
      // hold the port). During a graceful stop they get the rest of the grace; otherwise SIGKILL now.
      const gone = run.terminating
        ? await run.terminating
        : (signalGroup(run.pid, 'SIGKILL'), await waitGroupGone(run.pid, KILL_WAIT_MS, { procRoot: o.procRoot }));
      if (!gone) o.logger.error({ child: this.name, pgid: run.pid }, 'processes of the child group survived SIGKILL; going on');
      // Descendants that left the group (setsid) would outlive the child, keep its port and be
      // shipped to while the next one waits: they go before any next start.
      const escaped = mergeProcs(run.escaped, escapedDescendants(run.pid, o.procRoot)).filter((p) => sameProcessRunning(p, o.procRoot));
      if (escaped.length > 0) {
        o.logger.warn({ child: this.name, pids: escaped.map((p) => p.pid) }, 'killing processes that left the child process group');
        await killAndWait(escaped, KILL_WAIT_MS, o.procRoot);
      }
      await Promise.race([run.streamsClosed, new Promise((r) => setTimeout(r, DRAIN_WAIT_MS))]);
      // A process that left the group (setsid) may still hold the pipes; do not keep them open for it.
      run.sub?.stdout?.destroy();
      run.sub?.stderr?.destroy();
    }

    const cls = classifyExit({ code, signal, spawnError, oomKillsBefore: run.oomBefore, oomKillsAfter: this.readOomKills() });
    const intent = run.intent;
    const ours = intent?.kind === 'restart' ? intent.reason : null;
    const info: ExitInfo = {
      kind: ours ?? cls.kind,
      reason: ours ?? cls.reason,
      code: cls.code,
      signal: cls.signal,
      at: new Date(endedAt).toISOString(),
      uptime_s: Math.max(0, (endedAt - run.startedAt) / 1000),
      last_lines: run.output.ring.lines(),
    };
    this.lastExit = info;
    this.run = null;
    const logFields = {
      child: this.name,
      pid: run.pid,
      reason: info.reason,
      ...(ours ? { exit: cls.reason } : {}),
      code: info.code,
      signal: info.signal,
      uptime_s: Math.round(info.uptime_s * 1000) / 1000,
      last_lines: info.last_lines!.slice(-LOGGED_LAST_LINES),
    };
    if (intent?.kind === 'stop' || !this.wanted) o.logger.info(logFields, 'child stopped');
    else if (ours || cls.kind === 'exited' || cls.kind === 'signaled') o.logger.warn(logFields, 'child exited');
    else o.logger.error(logFields, 'child exited');
    this.emit('exit', info);

    if (!this.wanted) {
      this.setState('stopped');
      this.emit('stopped');
      return;
    }
    if (intent?.kind === 'stop' || (intent?.kind === 'restart' && intent.immediate)) {
      this.countRestart(info.kind);
      this.launch();
      return;
    }
    // A run that never became ready was not stable, however long it took to fail; nor was a hung
    // one, however long it was up (its stable timer may have forgiven earlier failures: undone).
    const hung = intent?.kind === 'restart' && intent.reason === 'hung';
    const uptime = run.ready && !hung ? info.uptime_s : 0;
    const decision = nextRestart(hung ? run.policyAtStart : this.policy, o.restart, uptime, o.random ?? Math.random);
    this.policy = decision.state;
    o.metrics.childDegraded.set(this.policy.degraded ? 1 : 0);
    if (this.policy.degraded) {
      o.logger.error({ child: this.name, attempt: this.policy.attempt, delay_ms: decision.delayMs }, 'child is crash-looping; retrying at the maximum backoff');
    }
    this.nextStartAt = this.now() + decision.delayMs;
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      if (!this.wanted) return;
      this.countRestart(info.kind);
      this.launch();
    }, decision.delayMs);
    this.setState('backoff');
  }

  // ---- helpers ----------------------------------------------------------------------------

  private sampleDescendants(run: Run): void {
    if (run.pid === null || run.exitSeen) return;
    const procRoot = this.opts.procRoot;
    run.escaped = mergeProcs(run.escaped, escapedDescendants(run.pid, procRoot)).filter((p) => sameProcessRunning(p, procRoot));
  }

  /**
   * Processes other than the child that listen on the Forward port (TCP only): a leftover of an
   * earlier child, or a descendant that took the port, receives what warden ships.
   */
  forwardPortHolders(): PortHolder[] {
    // Finding a socket's owner reads every process's descriptors: done at most every few seconds,
    // however often /status is asked (probes and dashboards poll it).
    const now = performance.now();
    if (this.holders && now - this.holders.at < PORT_HOLDERS_TTL_MS) return this.holders.value;
    this.holders = { at: now, value: this.findPortHolders() };
    return this.holders.value;
  }

  private holders: { at: number; value: PortHolder[] } | null = null;

  private findPortHolders(): PortHolder[] {
    let addr;
    try {
      addr = parseForwardTo(this.opts.forwardTo);
    } catch {
      return [];
    }
    if (addr.kind !== 'tcp') return [];
    const procRoot = this.opts.procRoot ?? '/proc';
    const run = this.run;
    const own = run && !run.exitSeen ? run.pid : null;
    return listenerPids(addr.port, procRoot)
      .filter((pid) => pid !== own && pid !== process.pid)
      .map((pid) => {
        let command = '';
        let pgrp = -1;
        try {
          // The name only (comm), not the arguments: those may hold expanded secrets.
          command = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
          pgrp = parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'))?.pgrp ?? -1;
        } catch {
          // gone meanwhile
        }
        const descendant = own !== null && (pgrp === own || (run?.escaped.some((p) => p.pid === pid) ?? false));
        return { pid, command, descendant };
      });
  }

  /** Both pipes into `output`, read as they come; only paused briefly while warden's log is backed up. */
  private pipeOutput(sub: ResultPromise, output: ChildOutput): Promise<void> {
    const closed: Promise<void>[] = [];
    for (const name of ['stdout', 'stderr'] as const) {
      const readable = sub[name];
      if (!readable) continue;
      const stream = output.stream(name);
      readable.on('data', (chunk: Buffer | string) => {
        if (stream.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) return;
        readable.pause();
        setTimeout(() => readable.resume(), BACKED_UP_PAUSE_MS).unref();
      });
      readable.on('error', () => {});
      closed.push(
        new Promise<void>((resolve) =>
          readable.once('close', () => {
            stream.end();
            resolve();
          }),
        ),
      );
    }
    return Promise.all(closed).then(() => undefined);
  }

  private startReload(check: string[] | undefined): Promise<ReloadResult> {
    const p = this.doReload(check).finally(() => {
      if (this.reloadRunning === p) this.reloadRunning = null;
    });
    this.reloadRunning = p;
    return p;
  }

  private async doReload(check: string[] | undefined): Promise<ReloadResult> {
    const o = this.opts;
    const cmd = check ?? o.checkCommand;
    if (cmd && cmd.length > 0) {
      const failure = await this.runCheck(cmd);
      if (failure) {
        o.logger.warn({ child: this.name, check_command: cmd, error: failure }, 'reload refused: check command failed; child left untouched');
        return { ok: false, error: failure };
      }
    }
    if (!this.wanted) return { ok: false, error: 'child is stopped' };
    const run = this.run;
    if (!run || run.pid === null || run.exitSeen || run.intent) {
      o.logger.info({ child: this.name, state: this.state }, 'reload: child not running; its next start uses the new configuration');
      return { ok: true };
    }
    // The leader only, never the group: fluentd's supervisor passes a reload on to its workers
    // itself (its docs: signal the supervisor only), and a worker signalled directly as well
    // would reload twice, or (SIGUSR2 on 1.18) each start a restart of its own.
    const leader = run.leader ?? { pid: run.pid, starttime: 0 };
    // A followed successor is not our child: its pid may be gone and reused before the poll notices.
    if (leader.pid !== run.pid && readProc(leader.pid, o.procRoot)?.starttime !== leader.starttime) return { ok: true };
    run.groupAtReload = new Set(listProcs(o.procRoot).filter((p) => p.pgrp === run.pid).map(identity));
    try {
      process.kill(leader.pid, o.reloadSignal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return { ok: true }; // exiting: its exit handling takes over
      throw err;
    }
    run.reloadedAt = this.now();
    o.logger.info({ child: this.name, pid: leader.pid, signal: o.reloadSignal }, 'reload signal sent to the child');
    return { ok: true };
  }

  /**
   * The leader exited on its own soon after a reload signal while its group lives on: fluentd
   * ≥ 1.18 answers SIGUSR2 to its supervisor with a zero-downtime restart (a new supervisor is
   * spawned into the same group, takes over the sockets, and the old one exits). The topmost
   * survivor of the group becomes the leader and is polled for its exit (it is not our child, so
   * no exit event comes for it); the run goes on, ready as it was. False: an ordinary exit.
   */
  private followHandover(run: Run, code: number | null, signal: NodeJS.Signals | null): boolean {
    if (run.pid === null || run.intent || !this.wanted || run.reloadedAt === null) return false;
    // code null with no signal: a followed successor found gone by the poll, which may hand over again.
    if (this.now() - run.reloadedAt > HANDOVER_WINDOW_MS || signal !== null || (code !== 0 && code !== null)) return false;
    const old = run.leader?.pid ?? run.pid;
    const members = listProcs(this.opts.procRoot).filter((p) => p.pgrp === run.pid && p.pid !== old && p.state !== 'Z');
    const inGroup = new Set(members.map((p) => p.pid));
    // The successor started after the signal (an orphaned worker of a crashed leader did not),
    // and its parent (the old leader) is gone, so no member of the group is its parent.
    const tops = members.filter((p) => !run.groupAtReload.has(identity(p)) && !inGroup.has(p.ppid)).sort((a, b) => b.starttime - a.starttime);
    const next = tops[0];
    if (!next) return false;
    run.leader = next;
    run.reloadedAt = null; // one handover per reload signal
    this.opts.logger.info({ child: this.name, pid: next.pid, previous_pid: old, pgid: run.pid }, 'child handed over to a successor after the reload signal; following it');
    this.emit('state', this.status());
    if (run.followTimer) clearInterval(run.followTimer);
    run.followTimer = setInterval(() => {
      const now = readProc(next.pid, this.opts.procRoot);
      if (now && now.starttime === next.starttime && now.state !== 'Z') return;
      // Gone (or a zombie waiting for PID 1): no exit status to be had for a process that is not ours.
      void this.onExit(run, null, null, null);
    }, FOLLOW_POLL_MS);
    return true;
  }

  /** Runs the check command; null when it passed, else what went wrong with the tail of its output. */
  private async runCheck(cmd: string[]): Promise<string | null> {
    const timeoutS = this.opts.checkTimeoutS ?? 60;
    try {
      const { file, args } = resolveCommand(cmd);
      const r = await execa(file, args, {
        reject: false,
        stdin: 'ignore',
        all: true,
        env: this.opts.env,
        extendEnv: true,
        timeout: timeoutS * 1000,
        forceKillAfterDelay: 1000,
        maxBuffer: 1024 * 1024,
      });
      if (!r.failed) return null;
      const what = r.timedOut
        ? `timed out after ${timeoutS}s`
        : r.code
          ? `could not start (${r.code})`
          : classifyExit({ code: r.exitCode ?? null, signal: r.signal ?? null }).reason;
      const out = typeof r.all === 'string' ? r.all.slice(-CHECK_OUTPUT_TAIL).trim() : '';
      return `check command ${JSON.stringify(cmd)} ${what}${out ? `: ${out}` : ''}`;
    } catch (err) {
      return `check command ${JSON.stringify(cmd)} failed: ${(err as Error).message}`;
    }
  }

  private countRestart(reason: string): void {
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

  /** The memory cgroup's `oom_kill` count, or null where no counter is readable. */
  private readOomKills(): number | null {
    if (this.oomFile === undefined) {
      const root = this.opts.cgroupRoot;
      let candidates: string[];
      if (root) candidates = [`${root}/memory.events`, `${root}/memory.oom_control`];
      else {
        try {
          candidates = oomCounterFiles(readFileSync('/proc/self/cgroup', 'utf8'));
        } catch {
          candidates = [];
        }
      }
      this.oomFile = candidates.find((f) => readCounter(f) !== null) ?? null;
    }
    return this.oomFile ? readCounter(this.oomFile) : null;
  }
}

const identity = (p: ProcStat): string => `${p.pid}:${p.starttime}`;

function readProc(pid: number, procRoot = '/proc'): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

function readCounter(file: string): number | null {
  try {
    return parseOomKills(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}
