// `warden run`: the composition root. It owns the process lifetime (signals, exit code) and wires
// four parts that do not know each other — the child, the tail pipeline, the budget governor and
// the health server — through the small interfaces of contracts.ts. The rules it applies live in
// their own modules: health-rules.ts, hang-watch.ts, reload.ts, status.ts, child-config.ts.
//
// Order of life: load config → state dir → health server → child marker file → child → Forward client → tail
// pipeline (paused until the child is ready) → budgets. Stop runs it backwards: stop reading,
// let in-flight chunks be acked (bounded), final checkpoint, stop the child, close the server,
// and give the log's last entries FINAL_LOG_FLUSH_MS to be written.
import { TreeWalker } from './procfs/tree.js';
import { mkdirSync, accessSync, constants as fsConstants } from 'node:fs';
import { ConfigError, resolveConfigPath } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createMetrics, type Metrics } from '../agent/health/metrics.js';
import { startHealthServer, type HealthServer } from '../agent/health/server.js';
import { ForwardClient } from '../agent/forward/client.js';
import { TailPipeline } from '../agent/tail/pipeline.js';
import { JournalInputs } from '../agent/journal/inputs.js';
import { ChildSupervisor } from './child.js';
import { BudgetGovernor } from './budgets/governor.js';
import { readContainerLimits } from './cgroup/limits.js';
import { createNotifier, type Notifier } from './sd-notify.js';
import { pid1Warning, watchZombieOrphans } from './pid1.js';
import { createLogger, flushLog, onLogDropped, type Logger } from '../core/log.js';
import { EXIT, exitCodeForSignal } from './exit-codes.js';
import { VERSION } from './version.js';
import { ConfigWatcher } from './config-watch.js';
import { readConfig, Reloader, type ReadConfig } from './reload.js';
import { selfExcludeGlobs } from './self-exclude.js';
import { ownContainer, type OwnContainer } from './procfs/container.js';
import { nextForwardConnection } from './forward-ready.js';
import { childOptions, resolveSharedKey } from './child-config.js';
import { liveVerdict, readyVerdict } from './health-rules.js';
import { startHangWatch } from './hang-watch.js';
import { BackpressureLines, backpressureHoldMs, type BackpressureSeen } from './backpressure.js';
import { statusSnapshot } from './status.js';
import { recordMarks, takeMarks } from './child/marker-file.js';
import type { Marks } from './child/leftovers.js';


export interface RunOptions {
  configPath?: string;
}

/** What changes while warden runs: the config (a reload replaces it) and whether it is stopping. */
interface Current {
  config: Config;
  stopping: boolean;
}

interface Parts {
  logger: Logger;
  /** The child's output watched for lines saying its output cannot deliver. */
  backpressure: () => BackpressureSeen | null;
  metrics: Metrics;
  notifier: Notifier;
  child: ChildSupervisor;
  client: ForwardClient;
  tail: TailPipeline;
  journal: JournalInputs;
  governor: BudgetGovernor;
  reloader: Reloader;
  watcher: ConfigWatcher;
}

/**
 * How long warden's last log entries may take to be written at exit. A stdout nobody reads takes
 * none of them, and waiting for it would keep warden from ever exiting.
 */
const FINAL_LOG_FLUSH_MS = 2000;

export async function runWarden(opts: RunOptions): Promise<number> {
  const configPath = resolveConfigPath(opts.configPath);
  const container = ownContainer();
  const loaded = readOrReport(configPath, container);
  if (!loaded) return EXIT.USAGE;
  const current: Current = { config: loaded.config, stopping: false };
  const logger = createLogger(current.config.log.level);
  const outcome = await supervise(configPath, loaded, current, logger, container).then(
    (code) => ({ code, err: undefined as unknown }),
    (err: unknown) => ({ code: 1, err }),
  );
  if (!(await flushLog(logger, FINAL_LOG_FLUSH_MS))) {
    // stdout takes nothing: exit now, with the code; what the log still held is not written.
    if (outcome.err !== undefined) process.stderr.write(`warden: ${(outcome.err as Error)?.stack ?? outcome.err}\n`);
    process.exit(outcome.code);
  }
  if (outcome.err !== undefined) throw outcome.err;
  return outcome.code;
}

/** Everything between the logger and the exit code: start, run until a stop signal, stop. */
async function supervise(configPath: string | null, loaded: ReadConfig, current: Current, logger: Logger, container: OwnContainer | null): Promise<number> {
  const pid1 = announce(logger, loaded, container);
  prepareStateDir(current.config.state_dir, logger);
  const marks = await takeMarks(current.config.state_dir, logger);
  const parts = wire(configPath, loaded, current, logger, container, marks);
  const health = await listenHealth(parts, current, loaded.source);
  if (!health) return 1;
  // After the health port, and not waited for: a slow state_dir delays neither probes nor the child.
  void recordMarks(current.config.state_dir, marks, logger);
  followChild(parts);
  return runUntilStopped(parts, current, health, pid1);
}

/** The config at start, or null after printing why it is invalid. */
function readOrReport(configPath: string | null, container: OwnContainer | null): ReadConfig | null {
  try {
    return readConfig(configPath, process.env, container);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.source}: invalid\n${err.errors.map((e) => `  ${e}\n`).join('')}`);
    return null;
  }
}

/** The start-up lines; true when warden runs as PID 1. */
function announce(logger: Logger, loaded: ReadConfig, container: OwnContainer | null): boolean {
  const config = loaded.config;
  logger.info({ version: VERSION, config: loaded.source, config_hash: loaded.hash, node: config.node_name }, 'warden starting');
  const self = selfExcludeGlobs(process.env, container);
  if (self.problem) logger.warn({ problem: self.problem }, 'tail.exclude_self: the pod\'s own logs cannot be excluded by its names');
  if (self.globs.length) {
    const fields = { exclude: config.tail.exclude_self ? self.globs : [], exclude_self: config.tail.exclude_self, container_id: container?.id ?? null, container_id_from: container?.source ?? null };
    logger.info(fields, 'this pod\'s own logs are not tailed (tail.exclude_self)');
  }
  const pid1 = pid1Warning(process.pid);
  if (pid1) logger.warn(pid1);
  return pid1 !== null;
}

function prepareStateDir(stateDir: string, logger: Logger): void {
  try {
    mkdirSync(stateDir, { recursive: true });
    accessSync(stateDir, fsConstants.W_OK);
  } catch (err) {
    // Not fatal: shipping goes on, checkpoints are retried, /readyz says so.
    logger.error({ state_dir: stateDir, err: (err as Error).message }, 'state_dir is not writable; checkpoints will be retried');
  }
}

/** Builds every part and connects them; nothing is started yet. */
function wire(configPath: string | null, loaded: ReadConfig, current: Current, logger: Logger, container: OwnContainer | null, marks: Marks): Parts {
  const config = current.config;
  const metrics = createMetrics({ inputs: config.inputs.map((i) => i.name) });
  onLogDropped(logger, () => metrics.logDropped.inc());
  const sharedKey = resolveSharedKey(config.forward.shared_key);
  const notifier = createNotifier({ env: { ...process.env }, logger });
  // One walk of the child's tree a second serves the governor's sampler and the child's tracking
  // of descendants that left its process group.
  const walker = new TreeWalker();
  const outputSays = new BackpressureLines(() => current.config.child.backpressure_patterns);
  const backpressure = () => outputSays.recent(backpressureHoldMs(current.config.child.hang_timeout_s));
  const child: ChildSupervisor = new ChildSupervisor({
    ...childOptions(config, sharedKey),
    walker,
    marks,
    onOutputLine: (line) => outputSays.observe(line),
    // Ready = warden's Forward client got through to the child, not merely "the port accepts".
    readyProbe: (p) => {
      client.expectReceiver(p.timeoutMs);
      return nextForwardConnection(client, p);
    },
    readyNow: () => client.connected,
    notReadyReason: () => client.lastConnectionEnd(),
    logger,
    metrics,
  });
  child.on('state', (s) => {
    if (s.state === 'starting') outputSays.forget();
  });
  const client = new ForwardClient({
    to: config.forward.to,
    sharedKey,
    selfHostname: config.node_name,
    ackTimeoutMs: config.forward.ack_timeout_s * 1000,
    connectTimeoutMs: config.forward.connect_timeout_ms,
    maxInflight: config.forward.max_inflight_batches,
    rejectLimit: config.forward.reject_limit,
    acksHeldBack: () => backpressure() !== null,
    logger,
    metrics,
  });
  const tail = new TailPipeline({ config, sender: client, logger, metrics, host: config.node_name });
  const journal = new JournalInputs({ config, sender: client, logger, metrics });
  const limits = readContainerLimits({});
  const governor = new BudgetGovernor({ config: config.budgets, child, tail, forward: client, logger, metrics, limits, stateDir: config.state_dir, walker });
  const reloader: Reloader = new Reloader(
    {
      path: configPath,
      env: process.env,
      container,
      logger,
      metrics,
      reloadChild: (check, shown) => child.reload(check, shown),
      apply: (next) => {
        child.updateOptions(childOptions(next, sharedKey));
        tail.reconfigure(next);
        logger.level = next.log.level;
        current.config = next;
        return journal.reconfigure(next);
      },
      onRead: (hash) => configPath && watcher.settle(configPath, hash),
    },
    config,
    loaded.hash,
  );
  const watcher = new ConfigWatcher({
    paths: configPath ? [configPath, ...config.reload.watch_also] : config.reload.watch_also,
    intervalMs: config.reload.watch_interval_ms,
    logger,
    onChange: (path) => void reloader.request('watch', path),
  });
  return { logger, backpressure, metrics, notifier, child, client, tail, journal, governor, reloader, watcher };
}

/** The health server, or null (logged) when health.listen cannot be bound. */
async function listenHealth(parts: Parts, current: Current, source: string): Promise<HealthServer | null> {
  const facts = { ...parts, current };
  const ready = () => readyVerdict(facts);
  try {
    const health = await startHealthServer(
      current.config.health.listen,
      { live: () => liveVerdict(facts), ready, registry: parts.metrics.registry, status: () => statusSnapshot({ ...facts, source, ready }) },
      parts.logger,
    );
    parts.logger.info({ listen: health.address }, 'health server listening');
    return health;
  } catch (err) {
    parts.logger.fatal({ listen: current.config.health.listen, err: (err as Error).message }, 'cannot listen for health probes (health.listen)');
    return null;
  }
}

/** Reading and systemd follow the child: logs flow only while it is ready; READY=1 the first time. */
function followChild({ child, tail, journal, notifier, metrics }: Parts): void {
  let wasReady = false;
  child.on('state', (s) => {
    metrics.childReady.set(s.state === 'ready' ? 1 : 0);
    notifier.status(`child ${s.state}${s.degraded ? ' (degraded)' : ''}`);
    if (s.state === 'ready') {
      tail.resume();
      journal.resume();
      if (!wasReady) notifier.ready();
      wasReady = true;
    } else {
      tail.pause();
      journal.pause();
    }
  });
}

/** Starts everything, handles signals, and resolves with the exit code once stopped. */
async function runUntilStopped(parts: Parts, current: Current, health: HealthServer, pid1: boolean): Promise<number> {
  const { logger, child, reloader, watcher } = parts;
  // Signals are handled from here on, before anything is started: a stop signal during start-up
  // waits for the start to finish and then stops cleanly (Node's default would kill warden and
  // orphan the child).
  let reloadNow: (() => unknown) | null = null;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  const watches: (() => void)[] = [];
  const started = startParts(parts, current);
  // `signal` null: the child was given up (child.restart.give_up_after), which ends in exit 3.
  const onStop = async (signal: NodeJS.Signals | null) => {
    if (current.stopping) {
      if (signal === null) return;
      // A second signal while stopping: do not wait any longer.
      logger.warn({ signal }, 'second signal while stopping: killing the child group now');
      child.signalGroup('SIGKILL');
      resolveExit(exitCodeForSignal(signal));
      return;
    }
    current.stopping = true;
    resolveExit(await stopParts(parts, signal, started, watches, health));
  };
  child.on('gave_up', () => void onStop(null));
  process.on('SIGTERM', () => void onStop('SIGTERM'));
  process.on('SIGINT', () => void onStop('SIGINT'));
  process.on('SIGHUP', () => {
    if (current.stopping) return;
    if (!reloadNow) return logger.warn('SIGHUP during start-up: ignored; send it again once warden is running');
    logger.info('SIGHUP: reloading configuration');
    reloadNow();
  });
  await started;
  watches.push(startHangWatch({ child, client: parts.client, current, backpressure: parts.backpressure, logger, metrics: parts.metrics }));
  if (pid1) watches.push(watchZombieOrphans(parts.metrics.zombieOrphans));
  reloadNow = () => reloader.request('signal');
  watcher.start();
  return exited;
}

function startParts({ client, child, tail, journal, governor, notifier }: Parts, current: Current): Promise<void> {
  return (async () => {
    client.start();
    child.start();
    await tail.start();
    if (child.status().state !== 'ready') journal.pause();
    await journal.start();
    if (current.stopping) return;
    if (child.status().state !== 'ready') tail.pause();
    governor.start();
    notifier.startWatchdog();
  })();
}

/** The stop sequence, backwards from the start; resolves with the exit code. */
async function stopParts(parts: Parts, signal: NodeJS.Signals | null, started: Promise<void>, watches: (() => void)[], health: HealthServer): Promise<number> {
  const { logger, notifier } = parts;
  let exitCode: number = signal === null ? EXIT.CHILD_GAVE_UP : EXIT.OK;
  logger.info(signal === null ? { reason: 'child given up' } : { signal }, 'stopping');
  notifier.stopping();
  await started.catch(() => undefined);
  for (const end of watches) end();
  parts.watcher.stop();
  parts.governor.stop();
  try {
    await Promise.all([parts.tail.stop(), parts.journal.stop()]);
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'tail pipeline did not stop cleanly');
    exitCode = 1;
  }
  await parts.client.close().catch(() => undefined);
  await parts.child.stop();
  notifier.stop();
  await notifier.idle();
  await health.close();
  logger.info({ exit: exitCode }, 'stopped');
  return exitCode;
}

export type { Logger };
