// Offsets per file identity in `<state_dir>/checkpoints.json`, written the boring safe way:
// temp file, fsync, rename over the old one, fsync the directory. On load the temp file is read
// first when the main one is missing (a write cut between rename steps). A corrupt file is renamed
// aside (`.corrupt-<ts>`, kept for inspection) with a warning; its offsets are gone, so every file
// is then read from offset 0 (not as at a first start: `tail.read_from: end` does not apply, since
// skipping to the end would lose what was never acked; re-sending is the at-least-once side).
// Write failures (ENOSPC, EROFS, a state_dir that is not a directory) are reported via `healthy()`
// and retried on the next write; they never throw into the reader.
import { promises as fsp, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../supervisor/log.js';
import type { Metrics } from '../health/metrics.js';

export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_FILE = 'checkpoints.json';

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
  /** ISO time of the last change of this entry's offset. */
  updated: string;
}

export interface CheckpointFile {
  version: 1;
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

export function parseCheckpoint(text: string, file: string): CheckpointEntry[] {
  const doc = JSON.parse(text) as Partial<CheckpointFile>;
  if (typeof doc !== 'object' || doc === null || doc.version !== CHECKPOINT_VERSION || !Array.isArray(doc.files)) {
    throw new CheckpointFormatError(`${file}: expected {version: 1, files: [...]} (got version ${JSON.stringify((doc as any)?.version)})`);
  }
  return doc.files.filter(
    (e): e is CheckpointEntry =>
      typeof e === 'object' && e !== null && Number.isFinite(e.dev) && Number.isFinite(e.ino) && typeof e.fp === 'string' &&
      Number.isInteger(e.fp_len) && typeof e.path === 'string' && Number.isInteger(e.offset) && e.offset >= 0,
  );
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
        text = await fsp.readFile(candidate, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.logger.warn({ file: candidate, err: String(err) }, 'cannot read checkpoint file; starting without it');
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
    await writeFileAtomic(this.stateDir, this.file, JSON.stringify(body));
  }
}

/**
 * Replace `file` (inside `dir`) with `text` so that a crash at any point leaves the old or the new
 * content, never a mix: `<file>.tmp` written and fsynced, renamed over `file`, the directory fsynced
 * (the rename is durable only once the directory entry is). Throws on any failure.
 */
export async function writeFileAtomic(dir: string, file: string, text: string): Promise<void> {
  const tmp = file + '.tmp';
  await fsp.mkdir(dir, { recursive: true });
  const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC, 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  const d = await fsp.open(dir, fsc.O_RDONLY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
