// Offsets per file identity in `<state_dir>/checkpoints.json`, written the boring safe way:
// temp file, fsync, rename over the old one, fsync the directory. On load the temp file is read
// first when the main one is missing (a write cut between rename steps). A corrupt file is renamed
// aside (`.corrupt-<ts>`, kept for inspection) with a warning; its offsets are gone, so every file
// is then read from offset 0 (not as at a first start: `tail.read_from: end` does not apply, since
// skipping to the end would lose what was never acked; re-sending is the at-least-once side).
// Write failures (ENOSPC, EROFS, a state_dir that is not a directory) are reported via `healthy()`
// and retried on the next write; they never throw into the reader.
//
// state_dir may be writable by others than warden: its files are opened with O_NOFOLLOW (a symlink
// planted there is never followed, for reading or writing), the temp file is removed (unlink does
// not follow) and created with O_EXCL, a file is read only when it is regular and at most
// CHECKPOINT_MAX_BYTES, and no byte of a file's content is put in a log message. A file that cannot
// be used (a symlink, a FIFO, too large, corrupt) is kept aside like a corrupt one.
import { promises as fsp, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../health/metrics.js';

/** Version 2 added `tail_hash`/`tail_len`/`tail_at`; version 1 files are still read (no tail hash). */
export const CHECKPOINT_VERSION = 2;
const READABLE_VERSIONS = new Set([1, 2]);
export const CHECKPOINT_FILE = 'checkpoints.json';
/** A checkpoint larger than this is not read (a ~200-byte entry per file: some 300,000 files). */
export const CHECKPOINT_MAX_BYTES = 64 * 1024 * 1024;

/** Thrown when a checkpoint file cannot be used as it is (not regular, too large); kept aside. */
export class CheckpointFileError extends Error {
  override name = 'CheckpointFileError';
}

export interface CheckpointEntry {
  dev: number;
  ino: number;
  fp: string;
  fp_len: number;
  path: string;
  /** The file's resolved path when `path` is a symlink; where a rotated file is looked for on restart. */
  real_path?: string;
  /** The input it was read for. */
  input?: string;
  offset: number;
  /**
   * A hash of the `tail_len` (at most TAIL_BYTES) bytes ending at `tail_at` (≤ `offset`), with the
   * same rule as `fp` (identity.ts): a file whose bytes there differ is a new generation even with
   * the same first KiB. Absent in version 1 entries.
   */
  tail_hash?: string;
  tail_len?: number;
  tail_at?: number;
  /** ISO time of the last change of this entry's offset. */
  updated: string;
}

export interface CheckpointFile {
  version: 1 | 2;
  files: CheckpointEntry[];
}

export interface LoadResult {
  /** False when neither the file nor its temp file existed: the very first start. */
  existed: boolean;
  entries: CheckpointEntry[];
}

/** Thrown when a checkpoint file parses but is not version 1 of this format. */
export class CheckpointFormatError extends Error {
  override name = 'CheckpointFormatError';
}

/**
 * JSON.parse for a state file. V8's message quotes the text ("Unexpected token 'r', \"root:x:0:0:\"..."):
 * only the position goes out, so a state file planted over a secret never leaks it into the log.
 */
export function parseStateJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const at = /at position (\d+)/.exec((err as Error).message);
    throw new Error(`${file}: not valid JSON${at ? ` (at byte ${at[1]})` : ''}`);
  }
}

export function parseCheckpoint(text: string, file: string): CheckpointEntry[] {
  let doc: Partial<CheckpointFile>;
  try {
    doc = parseStateJson(text, file) as Partial<CheckpointFile>;
  } catch (err) {
    throw new CheckpointFormatError((err as Error).message);
  }
  if (typeof doc !== 'object' || doc === null || !READABLE_VERSIONS.has(doc.version as number) || !Array.isArray(doc.files)) {
    const v = (doc as any)?.version;
    throw new CheckpointFormatError(`${file}: expected {version: 1 or 2, files: [...]} (got version ${typeof v === 'number' ? v : `of type ${v === null ? 'null' : typeof v}`})`);
  }
  return doc.files.filter(
    (e): e is CheckpointEntry =>
      typeof e === 'object' && e !== null && Number.isFinite(e.dev) && Number.isFinite(e.ino) && typeof e.fp === 'string' &&
      Number.isInteger(e.fp_len) && typeof e.path === 'string' && Number.isInteger(e.offset) && e.offset >= 0,
  ).map(validTail);
}

/** A malformed tail hash is dropped (the entry is then checked by its fingerprint alone). */
function validTail(e: CheckpointEntry): CheckpointEntry {
  if (e.tail_hash === undefined && e.tail_len === undefined && e.tail_at === undefined) return e;
  const ok =
    typeof e.tail_hash === 'string' && /^[0-9a-f]{16}$/.test(e.tail_hash) && Number.isInteger(e.tail_len) && e.tail_len! > 0 &&
    Number.isInteger(e.tail_at) && e.tail_at! >= e.tail_len! && e.tail_at! <= e.offset;
  if (ok) return e;
  const { tail_hash: _h, tail_len: _l, tail_at: _a, ...rest } = e;
  return rest;
}

export class CheckpointStore {
  readonly file: string;
  readonly tmp: string;
  private health: { ok: boolean; error?: string } = { ok: true };
  private writing: Promise<void> | null = null;

  constructor(
    private readonly stateDir: string,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.file = join(stateDir, CHECKPOINT_FILE);
    this.tmp = this.file + '.tmp';
  }

  healthy(): { ok: boolean; error?: string } {
    return { ...this.health };
  }

  async load(): Promise<LoadResult> {
    for (const candidate of [this.file, this.tmp]) {
      let text: string;
      try {
        text = await readBounded(candidate);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        if (code !== 'ELOOP' && !(err instanceof CheckpointFileError)) {
          this.logger.warn({ file: candidate, err: String(err) }, 'cannot read checkpoint file; starting without it');
          return { existed: true, entries: [] };
        }
        const aside = `${candidate}.corrupt-${this.now()}`;
        await fsp.rename(candidate, aside).catch(() => {});
        const why = code === 'ELOOP' ? `${candidate}: not a regular file (a symlink); never followed` : (err as Error).message;
        this.logger.warn({ file: candidate, kept_as: aside, err: why }, 'checkpoint file is not a regular file or too large; kept aside unread, every file is read from offset 0');
        return { existed: true, entries: [] };
      }
      try {
        const entries = parseCheckpoint(text, candidate);
        if (candidate === this.tmp) this.logger.warn({ file: candidate }, 'checkpoint file missing; recovered from its temp file');
        return { existed: true, entries };
      } catch (err) {
        const aside = `${candidate}.corrupt-${this.now()}`;
        await fsp.rename(candidate, aside).catch(() => {});
        this.logger.warn(
          { file: candidate, kept_as: aside, err: String(err) },
          'checkpoint file is corrupt; kept aside, every file is read from offset 0',
        );
        return { existed: true, entries: [] };
      }
    }
    return { existed: false, entries: [] };
  }

  /** Write all entries atomically. Concurrent calls are serialized; failures are reported, not thrown. */
  async write(entries: CheckpointEntry[]): Promise<boolean> {
    while (this.writing) await this.writing;
    let ok = false;
    this.writing = (async () => {
      try {
        await this.writeOnce(entries);
        ok = true;
        if (!this.health.ok) this.logger.info({ file: this.file }, 'checkpoint writes work again');
        this.health = { ok: true };
        this.metrics.checkpointWrites.inc({ result: 'ok' });
      } catch (err) {
        const error = `${this.file}: ${(err as Error).message}`;
        if (this.health.ok || this.health.error !== error) this.logger.error({ file: this.file, err: String(err) }, 'checkpoint write failed; reading continues, will retry');
        this.health = { ok: false, error };
        this.metrics.checkpointWrites.inc({ result: 'error' });
      }
    })();
    await this.writing;
    this.writing = null;
    return ok;
  }

  private async writeOnce(entries: CheckpointEntry[]): Promise<void> {
    const body: CheckpointFile = { version: CHECKPOINT_VERSION, files: entries };
    const text = JSON.stringify(body);
    // Never written larger than load() reads back.
    if (Buffer.byteLength(text) > CHECKPOINT_MAX_BYTES) throw new Error(`${entries.length} entries would take more than ${CHECKPOINT_MAX_BYTES} bytes`);
    await writeFileAtomic(this.stateDir, this.file, text);
  }
}

/**
 * Replace `file` (inside `dir`) with `text` so that a crash at any point leaves the old or the new
 * content, never a mix: `<file>.tmp` written and fsynced, renamed over `file`, the directory fsynced
 * (the rename is durable only once the directory entry is). A stale temp file, or a symlink planted
 * as one, is removed (unlink does not follow), and the new one is created with O_EXCL|O_NOFOLLOW,
 * so nothing outside `dir` is ever written through it. Throws on any failure. `durable: false`
 * leaves out both fsyncs, for a file that must outlive warden but not the machine (a crash of the
 * kernel may then leave the old content, or an empty file).
 */
export async function writeFileAtomic(dir: string, file: string, text: string, { durable = true }: { durable?: boolean } = {}): Promise<void> {
  const tmp = file + '.tmp';
  await fsp.unlink(tmp).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  const create = () => fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  // The directory is made when missing (first write, or removed since), not before every write.
  const fh = await create().catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    await fsp.mkdir(dir, { recursive: true });
    return create();
  });
  try {
    await fh.writeFile(text);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  if (!durable) return;
  const d = await fsp.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * A state file's text: opened with O_NOFOLLOW (ELOOP for a symlink) and O_NONBLOCK (a FIFO must
 * not block), read only when regular and at most CHECKPOINT_MAX_BYTES, and never past that bound
 * even when it grows while being read.
 */
export async function readBounded(file: string, maxBytes = CHECKPOINT_MAX_BYTES): Promise<string> {
  const fh = await fsp.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new CheckpointFileError(`${file}: not a regular file; never read`);
    const tooLarge = () => new CheckpointFileError(`${file}: larger than the ${maxBytes}-byte limit for a state file; not read`);
    if (st.size > maxBytes) throw tooLarge();
    const buf = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got > maxBytes) throw tooLarge();
    if (got === buf.length && got > st.size) throw new CheckpointFileError(`${file}: grew while being read; not read`);
    return buf.toString('utf8', 0, got);
  } finally {
    await fh.close();
  }
}
