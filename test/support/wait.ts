// Waiting in tests: poll an observable state until it holds. `sleep` is for pacing a writer (a
// stream of lines spread over time), never for letting the system "get there".
import { sleep, waitFor as poll } from '../../scripts/lib/util.js';
import type { LogEntry } from './logs.js';

export { sleep };

type Maybe<T> = T | undefined | null | false;

/**
 * Polls `fn` every `everyMs` until it returns a truthy value and returns that; throws naming
 * `what` (and the last error `fn` threw) after `timeoutMs`.
 */
export function waitFor<T>(what: string, fn: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 15_000, everyMs = 20): Promise<T> {
  return poll(what, fn, timeoutMs, everyMs) as Promise<T>;
}

/** Waits until an entry of `entries` matches every field of `match` (a RegExp tests a string field); returns it. */
export function waitForLog(entries: () => readonly LogEntry[], match: Record<string, unknown>, timeoutMs = 15_000): Promise<LogEntry> {
  return waitFor(`a log entry ${JSON.stringify(match, (_k, v) => (v instanceof RegExp ? String(v) : v))}`, () => entries().find((e) => logMatches(e, match)), timeoutMs);
}

export function logMatches(e: LogEntry, match: Record<string, unknown>): boolean {
  return Object.entries(match).every(([k, want]) => (want instanceof RegExp ? typeof e[k] === 'string' && want.test(e[k] as string) : e[k] === want));
}
