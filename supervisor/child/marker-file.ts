// The mark of a warden's children (marker.ts) kept in `<state_dir>/child-marker.json`, so that
// after warden itself was killed (kill -9, the OOM killer) with its child running, the next warden
// on the same state_dir stops what that child and its descendants left running before it starts a
// child of its own. The file names the warden it belongs to (pid and start time) and the boot:
// a mark from another boot, or of a warden that still runs (two of them on one state_dir), is
// left alone. Written and read like the checkpoints: O_NOFOLLOW, the temp file O_EXCL, bounded;
// but not fsynced, and only once the health server listens (run.ts): the file must outlive a
// killed warden, not the machine (a mark of another boot is ignored anyway), and a slow disk must
// not hold the health port.
import { join } from 'node:path';
import { parseStateJson, readBounded, writeFileAtomic } from '../../agent/tail/checkpoint.js';
import { readText } from '../procfs/read.js';
import { readStat, sameProcessRunning } from '../procfs/stat.js';
import type { Logger } from '../../core/log.js';
import type { Marks } from './leftovers.js';
import { isToken, newToken } from './marker.js';

export const MARKER_FILE = 'child-marker.json';
const MARKER_FILE_VERSION = 1;
const MARKER_FILE_MAX_BYTES = 4096;

interface MarkerFile {
  version: typeof MARKER_FILE_VERSION;
  token: string;
  boot_id: string;
  /** The warden whose children carry `token`: its pid and start time (clock ticks after boot). */
  warden: { pid: number; starttime: number };
}

/** What the file left by the warden before says. */
export type PreviousMarker =
  /** No file, or one of another boot: nothing marked by it can run now. */
  | { kind: 'none' }
  /** A file that cannot be used as it is (not regular, too large, not a marker file); ignored. */
  | { kind: 'unusable'; error: string }
  /** Its warden still runs: another warden on this state_dir, whose children are its own. */
  | { kind: 'running'; pid: number }
  /** Its warden is gone: processes carrying `token` started at or after `since` are its children's. */
  | { kind: 'gone'; token: string; pid: number; since: number };

function bootId(procRoot: string): string {
  return readText(`${procRoot}/sys/kernel/random/boot_id`, 64)?.trim() ?? '';
}

export async function readPreviousMarker(stateDir: string, procRoot = '/proc'): Promise<PreviousMarker> {
  const file = join(stateDir, MARKER_FILE);
  let doc: Partial<MarkerFile>;
  try {
    doc = parseStateJson(await readBounded(file, MARKER_FILE_MAX_BYTES), file) as Partial<MarkerFile>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'unusable', error: (err as Error).message };
  }
  const w = doc?.warden;
  if (doc?.version !== MARKER_FILE_VERSION || !isToken(doc.token) || typeof doc.boot_id !== 'string' || !Number.isInteger(w?.pid) || !Number.isInteger(w?.starttime)) {
    return { kind: 'unusable', error: `${file}: not a version ${MARKER_FILE_VERSION} child marker file` };
  }
  if (doc.boot_id !== bootId(procRoot)) return { kind: 'none' };
  if (w!.pid !== process.pid && sameProcessRunning(w!, procRoot)) return { kind: 'running', pid: w!.pid };
  return { kind: 'gone', token: doc.token, pid: w!.pid, since: w!.starttime };
}

/** Records `token` as the mark of this warden's children (not fsynced); throws when it cannot be written. */
export async function writeMarker(stateDir: string, token: string, procRoot = '/proc'): Promise<void> {
  const self = readStat(process.pid, procRoot);
  const doc: MarkerFile = { version: MARKER_FILE_VERSION, token, boot_id: bootId(procRoot), warden: { pid: process.pid, starttime: self?.starttime ?? 0 } };
  await writeFileAtomic(stateDir, join(stateDir, MARKER_FILE), JSON.stringify(doc) + '\n', { durable: false });
}

/**
 * This start's marks: a fresh token (recordMarks keeps it in state_dir for the next start), and
 * the token of the warden before when it is gone (its children's leftovers are then ended before
 * the first start). Reads only: the file of the warden before is still there.
 */
export async function takeMarks(stateDir: string, logger: Logger, procRoot = '/proc'): Promise<Marks> {
  const token = newToken();
  const prev = await readPreviousMarker(stateDir, procRoot);
  if (prev.kind === 'unusable') logger.warn({ state_dir: stateDir, error: prev.error }, 'the child marker file cannot be used; what the children of the warden before left running is not looked for');
  if (prev.kind === 'running') logger.warn({ state_dir: stateDir, other_warden_pid: prev.pid }, 'another warden runs on this state_dir; its children are left alone');
  const since = readStat(process.pid, procRoot)?.starttime ?? 0;
  return { token, since, previous: prev.kind === 'gone' ? { token: prev.token, since: prev.since } : null };
}

/**
 * Writes this start's token for the next start; resolves false, after logging an error naming the
 * file, when it cannot. Nothing here stops warden: without the file, only crash recovery is lost.
 */
export async function recordMarks(stateDir: string, marks: Marks, logger: Logger, procRoot = '/proc'): Promise<boolean> {
  try {
    await writeMarker(stateDir, marks.token, procRoot);
    return true;
  } catch (err) {
    const file = join(stateDir, MARKER_FILE);
    logger.error({ file, err: (err as Error).message }, `cannot write the child marker file ${file}; should warden be killed, what its child leaves running is not found by the next start`);
    return false;
  }
}
