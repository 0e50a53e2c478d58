// One configuration reload, whoever asked (SIGHUP or the config watcher): read the file (bounded),
// validate, run child.check_command, apply what can change live, signal the child. A refused config
// keeps the running one, with one logged line per error. Keys that only a restart of warden can
// change (listening sockets, the Forward connection, the budget governor, state_dir) keep their
// running values and are named in the log and in /status; the rest is applied.
import { ConfigError, configuredCommand, parseConfigText, readConfigBytes } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { ReloadResult, ReloadTrigger } from '../agent/health/labels.js';
import type { Metrics } from '../agent/health/metrics.js';
import { configHash } from './config-watch.js';
import { withSelfExcludes } from './self-exclude.js';
import type { OwnContainer } from './procfs/container.js';
import type { Logger } from '../core/log.js';
import { OneAtATime } from './one-at-a-time.js';

/** Config subtrees a running warden cannot change: their running values stay until a restart. */
export const RESTART_ONLY = [
  'node_name',
  'state_dir',
  'health',
  'reload',
  'budgets',
  'forward.to',
  'forward.shared_key',
  'forward.ack_timeout_s',
  'forward.connect_timeout_ms',
  'forward.max_inflight_batches',
] as const;

export type { ReloadResult, ReloadTrigger } from '../agent/health/labels.js';

export interface ReloadOutcome {
  /** Kept for readers of the first /status format: true when applied (or unchanged). */
  ok: boolean;
  result: ReloadResult;
  trigger: ReloadTrigger;
  at: string;
  /** sha256 (short) of the file this reload read. */
  hash: string | null;
  errors?: string[];
  /** Changed keys that keep their running value until warden restarts. */
  restart_needed?: string[];
}

/** A config read from its file: the source and the hash of exactly the bytes validated. */
export interface ReadConfig {
  config: Config;
  source: string;
  hash: string | null;
}

/** Reads and validates the config at `path` (null: built-in defaults), the pod's and the container's self-excludes added. */
export function readConfig(path: string | null, env: NodeJS.ProcessEnv, container: OwnContainer | null = null): ReadConfig {
  if (path === null) return { config: withSelfExcludes(parseConfigText('{}', 'built-in defaults', env), env, container).config, source: 'built-in defaults', hash: null };
  const bytes = readConfigBytes(path);
  return { config: withSelfExcludes(parseConfigText(bytes.toString('utf8'), path, env), env, container).config, source: path, hash: configHash(bytes) };
}

function get(obj: any, path: string): unknown {
  return path.split('.').reduce((v, k) => (v == null ? undefined : v[k]), obj);
}

function set(obj: any, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  keys.reduce((v, k) => v[k], obj)[last] = structuredClone(value);
}

/** `next` with every changed restart-only key set back to its running value, and those keys. */
export function keepRestartOnly(running: Config, next: Config): { config: Config; kept: string[] } {
  const kept = RESTART_ONLY.filter((k) => JSON.stringify(get(running, k)) !== JSON.stringify(get(next, k)));
  if (!kept.length) return { config: next, kept };
  const config = structuredClone(next);
  for (const k of kept) set(config, k, get(running, k));
  return { config, kept };
}

export interface ReloaderOptions {
  path: string | null;
  env: NodeJS.ProcessEnv;
  /** warden's own container, whose logs `tail.exclude_self` leaves out. */
  container?: OwnContainer | null;
  logger: Logger;
  metrics: Metrics;
  /**
   * child.check_command (to run, and as configured: the form shown), then child.reload_signal:
   * the child's verdict on its own config.
   */
  reloadChild: (checkCommand: string[] | undefined, shown: string[] | undefined) => Promise<{ ok: boolean; error?: string }>;
  /** Puts a validated config in force. */
  apply: (next: Config) => void | Promise<void>;
  /** Called with the hash of each file read (so a watcher does not reload the same bytes again). */
  onRead?: (hash: string) => void;
}

type Request = { trigger: ReloadTrigger; path: string | null };

/** Runs reloads one at a time; requests that arrive meanwhile fold into one more reload after it. */
export class Reloader {
  last: ReloadOutcome | null = null;
  // A signal outranks a watch: it always reaches the child.
  private readonly queue = new OneAtATime<Request, void>(
    (r) => this.once(r.trigger, r.path),
    (queued, r) => (r.trigger === 'signal' ? r : queued),
  );

  constructor(
    private readonly opts: ReloaderOptions,
    private current: Config,
    public hash: string | null,
  ) {}

  /** `changed` is the file the watcher saw change; a change of warden's own file to the running bytes is `unchanged`. */
  request(trigger: ReloadTrigger, changed: string | null = null): Promise<void> {
    return this.queue.run({ trigger, path: changed });
  }

  private finish(outcome: Omit<ReloadOutcome, 'at' | 'ok'>): void {
    this.last = { ok: outcome.result !== 'refused', ...outcome, at: new Date().toISOString() };
    this.opts.metrics.configReloads.inc({ result: outcome.result, trigger: outcome.trigger });
  }

  private async once(trigger: ReloadTrigger, changed: string | null): Promise<void> {
    const { logger } = this.opts;
    let read: ReadConfig;
    try {
      read = readConfig(this.opts.path, this.opts.env, this.opts.container ?? null);
    } catch (err) {
      const errors = err instanceof ConfigError ? err.errors : [String(err)];
      for (const e of errors) logger.error({ error: e, trigger }, 'reload refused: invalid configuration; the running one stays');
      this.finish({ result: 'refused', trigger, hash: null, errors });
      return;
    }
    if (read.hash) this.opts.onRead?.(read.hash);
    // The watcher saw warden's own file change back to (or stay at) the running bytes: nothing to do.
    // A SIGHUP, or a change of another watched file (fluent.conf), always reaches the child.
    if (trigger === 'watch' && changed === this.opts.path && read.hash === this.hash) {
      logger.info({ hash: read.hash }, 'configuration unchanged; nothing reloaded');
      this.finish({ result: 'unchanged', trigger, hash: read.hash });
      return;
    }
    // The new config's check, or none when it has none ([] runs nothing): never the running one's.
    const result = await this.opts.reloadChild(read.config.child.check_command ?? [], configuredCommand(read.config, 'check_command') ?? []);
    if (!result.ok) {
      logger.error({ error: result.error, trigger }, 'reload refused: child.check_command failed; the running child stays');
      this.finish({ result: 'refused', trigger, hash: read.hash, errors: [result.error ?? 'check failed'] });
      return;
    }
    const { config, kept } = keepRestartOnly(this.current, read.config);
    for (const key of kept) logger.warn({ key, trigger }, 'reload: this key changed but only a restart of warden applies it; its running value stays');
    await this.opts.apply(config);
    this.current = config;
    this.hash = read.hash;
    this.finish({ result: 'applied', trigger, hash: read.hash, ...(kept.length ? { restart_needed: kept } : {}) });
    logger.info({ hash: read.hash, trigger, ...(kept.length ? { restart_needed: kept } : {}) }, 'configuration reloaded');
  }
}
