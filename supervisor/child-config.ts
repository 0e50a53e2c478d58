// What the child is given from warden's config: its command, environment, signals and limits.
import { randomBytes } from 'node:crypto';
import { configuredCommand } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { ChildOptions } from './child.js';

/** The key handed to the child; `auto` makes a fresh one each start. Never logged, never written. */
export function resolveSharedKey(setting: string): string | null {
  if (setting === 'none') return null;
  if (setting === 'auto') return randomBytes(24).toString('base64url');
  return setting;
}

/** The config's part of the child's options (logger, metrics and readiness are wired by the caller). */
export function childOptions(config: Config, sharedKey: string | null) {
  const env: Record<string, string> = { ...config.child.env, WARDEN_FORWARD_TO: config.forward.to };
  if (sharedKey) env.WARDEN_FORWARD_SHARED_KEY = sharedKey;
  return {
    command: config.child.command,
    shownCommand: configuredCommand(config, 'command'),
    env,
    stopSignal: config.child.stop_signal as NodeJS.Signals,
    reloadSignal: config.child.reload_signal as NodeJS.Signals,
    checkCommand: config.child.check_command,
    shownCheckCommand: configuredCommand(config, 'check_command'),
    stopGraceS: config.child.stop_grace_s,
    readyTimeoutS: config.child.ready_timeout_s,
    restart: config.child.restart,
    forwardTo: config.forward.to,
  } satisfies Partial<ChildOptions>;
}
