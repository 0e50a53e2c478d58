// The environment of every process warden starts (the child, its check command, journalctl),
// built as one explicit object: warden's own process.env is never edited to shape what they see.

/** systemd's notify variables: warden's own, for sd_notify; no process it starts may inherit them. */
export const NOTIFY_ENV_KEYS = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/**
 * `base` without systemd's notify variables (they are warden's: fluentd must not talk to systemd),
 * then `extra` on top.
 */
export function childEnv(base: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  for (const key of NOTIFY_ENV_KEYS) delete env[key];
  return Object.assign(env, extra);
}
