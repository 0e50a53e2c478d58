// The mark on everything started for the child: WARDEN_CHILD=<token>.<run> in the child's
// environment, inherited by whatever it starts, however far it goes — setsid, a double fork whose
// middle process exits before any walk of the child's tree sees the grandchild, reparented to
// PID 1. `token` is random for each start of warden, so a process of another warden (or of one
// before this) never matches by chance; `run` numbers this warden's child starts. Only a process
// that clears its environment (env -i, sudo's env_reset) loses the mark; the tree walk and the
// process group still find those that stay in the child's tree.
import { randomBytes } from 'node:crypto';
import { findCarriers, type Carrier, type EnvironMemo } from '../procfs/environ.js';

export const MARKER_ENV = 'WARDEN_CHILD';
const TOKEN = /^[0-9a-f]{32}$/;
const VALUE = /^([0-9a-f]{32})\.([1-9][0-9]{0,15})$/;

/** 128 random bits, as 32 hex digits. */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

export function isToken(s: unknown): s is string {
  return typeof s === 'string' && TOKEN.test(s);
}

/** The value the child of run `run` gets. */
export function markerValue(token: string, run: number): string {
  return `${token}.${run}`;
}

/** A marker value taken apart; null for anything not written by markerValue. */
export function parseMarker(value: string): { token: string; run: number } | null {
  const m = VALUE.exec(value);
  return m ? { token: m[1]!, run: Number(m[2]) } : null;
}

/**
 * Running processes (warden aside) marked with one of `tokens`, of any run, among those started
 * at or after `since` (clock ticks after boot: a warden's children all start after it did).
 */
export function markedWith(tokens: readonly string[], procRoot?: string, since = 0, memo?: EnvironMemo): Carrier[] {
  const wanted = new Set(tokens.filter(isToken));
  if (wanted.size === 0) return [];
  return findCarriers(MARKER_ENV, (v) => wanted.has(parseMarker(v)?.token ?? ''), procRoot, since, memo);
}
