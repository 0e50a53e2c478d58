// `warden run`: the composition root. It owns the process lifetime (signals, exit code) and wires
// four parts that do not know each other — the child, the tail pipeline, the budget governor and
// the health server — through the small interfaces of contracts.ts.
//
// Order of life: load config → state dir → health server → child → Forward client → tail
// pipeline (paused until the child is ready) → budgets. Stop runs it backwards: stop reading,
// let in-flight chunks be acked (bounded), final checkpoint, stop the child, close the server.
import { randomBytes } from 'node:crypto';
import { mkdirSync, accessSync, constants as fsConstants } from 'node:fs';
import { ConfigError, configuredCommand, resolveConfigPath } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createMetrics } from '../agent/health/metrics.js';
import { startHealthServer, type HealthServer } from '../agent/health/server.js';
import { ForwardClient } from '../agent/forward/client.js';
import { TailPipeline } from '../agent/tail/pipeline.js';
import { JournalInputs } from '../agent/journal/inputs.js';
import { ChildSupervisor } from './child.js';
import { BudgetGovernor } from './budgets/governor.js';
import { readContainerLimits } from './budgets/cgroup.js';
import { createNotifier, NOTIFY_ENV_KEYS } from './sd-notify.js';
import { countZombieOrphans, pid1Warning } from './pid1.js';
import { createLogger, type Logger } from '../core/log.js';
import { EXIT, exitCodeForSignal } from './exit-codes.js';
import type { HealthVerdict } from '../core/contracts.js';
import { VERSION } from './version.js';
import { ConfigWatcher } from './config-watch.js';
import { readConfig, Reloader, type ReadConfig } from './reload.js';
import { selfExcludeGlobs } from './self-exclude.js';
import { nextForwardConnection } from './forward-ready.js';

export interface RunOptions {
  configPath?: string;
}

/** The key handed to the child; `auto` makes a fresh one each start. Never logged, never written. */
export function resolveSharedKey(setting: string): string | null {
  if (setting === 'none') return null;
  if (setting === 'auto') return randomBytes(24).toString('base64url');
  return setting;
}

export async function runWarden(opts: RunOptions): Promise<number> {
  const configPath = resolveConfigPath(opts.configPath);
  let loaded: ReadConfig;
  try {
    loaded = readConfig(configPath, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.source}: invalid\n${err.errors.map((e) => `  ${e}\n`).join('')}`);
      return EXIT.USAGE;
    }
    throw err;
  }
  let config = loaded.config;
  const logger = createLogger(config.log.level);
  logger.info({ version: VERSION, config: loaded.source, config_hash: loaded.hash, node: config.node_name }, 'warden starting');
  const self = selfExcludeGlobs(process.env);
  if (self.problem) logger.warn({ problem: self.problem }, 'tail.exclude_self: the pod\'s own logs cannot be excluded');
  else if (self.globs.length) logger.info({ exclude: config.tail.exclude_self ? self.globs : [], exclude_self: config.tail.exclude_self }, 'this pod\'s own logs are not tailed (tail.exclude_self)');
  const pid1 = pid1Warning(process.pid);
  if (pid1) logger.warn(pid1);

  try {
    mkdirSync(config.state_dir, { recursive: true });
    accessSync(config.state_dir, fsConstants.W_OK);
  } catch (err) {
    // Not fatal: shipping goes on, checkpoints are retried, /readyz says so.
    logger.error({ state_dir: config.state_dir, err: (err as Error).message }, 'state_dir is not writable; checkpoints will be retried');
  }

  const metrics = createMetrics({ inputs: config.inputs.map((i) => i.name) });
  const sharedKey = resolveSharedKey(config.forward.shared_key);
  const notifier = createNotifier({ env: { ...process.env }, logger });
  // systemd's notify variables are warden's, not the child's: fluentd must not talk to systemd.
  for (const key of NOTIFY_ENV_KEYS) delete process.env[key];

  const child = new ChildSupervisor({
    ...childOptions(config, sharedKey),
    // Ready = warden's Forward client got through to the child, not merely "the port accepts".
    readyProbe: (p) => nextForwardConnection(client, p),
    logger,
    metrics,
  });
  const client = new ForwardClient({
    to: config.forward.to,
    sharedKey,
    selfHostname: config.node_name,
    ackTimeoutMs: config.forward.ack_timeout_s * 1000,
    connectTimeoutMs: config.forward.connect_timeout_ms,
    maxInflight: config.forward.max_inflight_batches,
    logger,
    metrics,
  });
  const tail = new TailPipeline({ config, sender: client, logger, metrics, host: config.node_name });
  const journal = new JournalInputs({ config, sender: client, logger, metrics });
  const limits = readContainerLimits({});
  const governor = new BudgetGovernor({ config: config.budgets, child, tail, forward: client, logger, metrics, limits, stateDir: config.state_dir });

  let stopping = false;
  const reloader = new Reloader(
    {
      path: configPath,
      env: process.env,
      logger,
      metrics,
      reloadChild: (check) => child.reload(check),
      apply: (next) => {
        child.updateOptions(childOptions(next, sharedKey));
        tail.reconfigure(next);
        logger.level = next.log.level;
        config = next;
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

  const ready = (): HealthVerdict => {
    const reasons: string[] = [];
    const st = child.status();
    if (stopping) reasons.push('warden is stopping');
    if (st.state !== 'ready') reasons.push(`child is ${st.state}${st.degraded ? ' (degraded: crash loop)' : ''}${st.last_exit ? `, last exit ${st.last_exit.reason}` : ''}`);
    else if (!client.connected) reasons.push(`no Forward connection to ${config.forward.to}`);
    const pendingMs = client.oldestPendingMs();
    const stallMs = Math.min(10_000, config.child.hang_timeout_s * 1000);
    if (pendingMs !== null && pendingMs > stallMs) reasons.push(`acks are not flowing: oldest chunk pending for ${Math.round(pendingMs / 1000)}s`);
    const cp = tail.checkpointHealth();
    if (!cp.ok) reasons.push(`checkpoints cannot be written in ${config.state_dir}: ${cp.error}`);
    const jc = journal.cursorHealth();
    if (!jc.ok) reasons.push(`journal cursors cannot be written: ${jc.error}`);
    return { ok: reasons.length === 0, reasons };
  };
  const live = (): HealthVerdict => {
    const st = child.status();
    // Liveness never depends on outputs: only on warden's own loop (it answers) and on the child
    // being run under policy. A stopped child while warden is not stopping means policy failed.
    if (st.state === 'stopped' && !stopping) return { ok: false, reasons: ['child is stopped and not being restarted'] };
    return { ok: true, reasons: [] };
  };

  let health: HealthServer;
  try {
    health = await startHealthServer(config.health.listen, {
      live,
      ready,
      registry: metrics.registry,
      status: () => ({
        version: VERSION,
        // The runtime and its V8 flags (package.json config.nodeFlags, built into the binary).
        runtime: { node: process.version, exec_argv: process.execArgv },
        node_name: config.node_name,
        config: loaded.source,
        config_hash: reloader.hash,
        ready: ready(),
        child: child.status(),
        forward: {
          to: config.forward.to,
          connected: client.connected,
          inflight: client.inflight(),
          max_inflight: config.forward.max_inflight_batches,
          last_ack_at: isoOrNull(client.lastAckAt()),
          last_ack_age_s: secondsOrNull(client.sinceLastAckMs()),
          oldest_pending_s: secondsOrNull(client.oldestPendingMs()),
          // Who else listens on the Forward port: what warden ships may be going there, not to its child.
          port_holders: child.forwardPortHolders(),
        },
        // Each input's globs, so a reader can show file paths relative to their input's directory.
        inputs: config.inputs.map((i) => ({ name: i.name, paths: i.paths })),
        budgets: governor.snapshot(),
        checkpoints: tail.checkpointHealth(),
        lag_bytes: tail.lagBytes(),
        files: tail.files(),
        journal: journal.status(),
        reload: reloader.last,
      }),
    }, logger);
  } catch (err) {
    logger.fatal({ listen: config.health.listen, err: (err as Error).message }, 'cannot listen for health probes (health.listen)');
    return 1;
  }
  logger.info({ listen: health.address }, 'health server listening');

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

  // Signals are handled from here on, before anything is started: a stop signal during start-up
  // waits for the start to finish and then stops cleanly (Node's default would kill warden and
  // orphan the child).
  let reloadNow: (() => unknown) | null = null;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  let started!: Promise<void>;
  let hangTimer: NodeJS.Timeout | undefined;
  let exitCode: number = EXIT.OK;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal while stopping: do not wait any longer.
      logger.warn({ signal }, 'second signal while stopping: killing the child group now');
      child.signalGroup('SIGKILL');
      resolveExit(exitCodeForSignal(signal));
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    notifier.stopping();
    await started.catch(() => undefined);
    clearInterval(hangTimer);
    watcher.stop();
    governor.stop();
    try {
      await Promise.all([tail.stop(), journal.stop()]);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'tail pipeline did not stop cleanly');
      exitCode = 1;
    }
    await client.close().catch(() => undefined);
    await child.stop();
    notifier.stop();
    await notifier.idle();
    await health.close();
    logger.info({ exit: exitCode }, 'stopped');
    resolveExit(exitCode);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (stopping) return;
    if (!reloadNow) return logger.warn('SIGHUP during start-up: ignored; send it again once warden is running');
    logger.info('SIGHUP: reloading configuration');
    reloadNow();
  });

  started = (async () => {
    client.start();
    child.start();
    await tail.start();
    if (child.status().state !== 'ready') journal.pause();
    await journal.start();
    if (stopping) return;
    if (child.status().state !== 'ready') tail.pause();
    governor.start();
    notifier.startWatchdog();
  })();
  await started;

  // A hung child is a dead child: alive, but no ack for chunks pending longer than hang_timeout_s.
  hangTimer = setInterval(() => {
    if (pid1) metrics.zombieOrphans.set(countZombieOrphans());
    const pendingMs = client.oldestPendingMs();
    const st = child.status();
    if (stopping || st.state !== 'ready' || pendingMs === null) return;
    const sinceAck = client.sinceLastAckMs() ?? Infinity;
    const limitMs = config.child.hang_timeout_s * 1000;
    // Each start gets a full window: chunks pending, and the last ack, from before this child
    // started say nothing about it.
    if (pendingMs > limitMs && sinceAck > limitMs && st.uptime_s * 1000 > limitMs) {
      logger.error({ pending_s: Math.round(pendingMs / 1000) }, 'child accepts no acks for child.hang_timeout_s; restarting it as hung');
      void child.restart('hung');
    }
  }, 1000);
  hangTimer.unref();

  reloadNow = () => reloader.request('signal');
  watcher.start();

  return exited;
}

function childOptions(config: Config, sharedKey: string | null) {
  const env: Record<string, string> = { ...config.child.env, WARDEN_FORWARD_TO: config.forward.to };
  if (sharedKey) env.WARDEN_FORWARD_SHARED_KEY = sharedKey;
  return {
    command: config.child.command,
    shownCommand: configuredCommand(config),
    env,
    stopSignal: config.child.stop_signal as NodeJS.Signals,
    reloadSignal: config.child.reload_signal as NodeJS.Signals,
    checkCommand: config.child.check_command,
    stopGraceS: config.child.stop_grace_s,
    readyTimeoutS: config.child.ready_timeout_s,
    restart: config.child.restart,
    forwardTo: config.forward.to,
  };
}

function secondsOrNull(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms) / 1000;
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export type { Logger };
