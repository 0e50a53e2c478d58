// When the Forward client tries again after a connection ended, and how loudly it says so.
import { backoffCeilingMs, type BackoffBounds } from '../../core/backoff.js';

export type Backoff = BackoffBounds;

/** The longest wait between attempts while the receiver is starting (ForwardClient.expectReceiver). */
export const STARTING_RETRY_MS = 250;

/** Failed connection attempts in a row after which a warning is logged (earlier ones are debug). */
export const CONNECT_WARN_AFTER = 7;

/** 0 after no failure, else min(maxMs, initialMs · 2^(failures-1)) times a 50–100% jitter. */
export function reconnectDelay(failures: number, b: Backoff, random: () => number = Math.random): number {
  if (failures === 0) return 0;
  return Math.round(backoffCeilingMs(b, failures - 1) * (0.5 + random() * 0.5));
}

export interface ConnectionEnd {
  /** The connection had passed its handshake (it was `ready`). */
  wasReady: boolean;
  /** Failed attempts in a row, this one included (0 after a healthy connection). */
  failures: number;
  /** The receiver is starting (ForwardClient.expectReceiver): refusals are expected until it listens. */
  starting: boolean;
  fields: { to: string; err: string; retryInMs: number; pending: number };
}

type EndLogger = { warn(fields: object, msg: string): void; debug(fields: object, msg: string): void };

/**
 * Refused attempts while the receiver starts (every clean start, every child restart) are
 * expected: debug (a child that never listens is the ready timeout's to report). A lost connection is worth a warning, and so are attempts failing for a while
 * (CONNECT_WARN_AFTER in a row: 10–20 s of backoff), once per run of failures.
 */
export function logConnectionEnd(logger: EndLogger, end: ConnectionEnd): void {
  const { wasReady, failures, fields } = end;
  if (wasReady) logger.warn(fields, 'Forward connection lost');
  else if (failures === CONNECT_WARN_AFTER && !end.starting) logger.warn({ ...fields, attempts: failures }, 'Forward receiver still refuses connections');
  else logger.debug(fields, 'Forward connect failed');
}
