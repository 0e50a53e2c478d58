// A journald input's position in `<state_dir>/journal-<input>.json`: the cursor of the last entry
// fluentd acknowledged (with every entry before it), written atomically like the checkpoints
// (agent/tail/checkpoint.ts writeFileAtomic). Before any entry was acked the file holds where the
// very first start began (`since_s` for tail.read_from end), so a restart before the first ack
// starts there again and not at a later "now".
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/log.js';
import { parseStateJson, readBounded, writeFileAtomic } from '../tail/checkpoint.js';
import type { JournalPosition } from './args.js';

export const CURSOR_VERSION = 1;
/** A cursor is ~110 bytes; anything much bigger is not a cursor file of ours. */
const MAX_CURSOR_FILE_BYTES = 64 * 1024;

export interface CursorDoc {
  version: 1;
  /** Cursor of the last acknowledged entry; null before the first ack. */
  cursor: string | null;
  /** Where the first start began (epoch seconds), when it began at a time; null = at the head. */
  since_s: number | null;
  /** ISO time of this write. */
  updated: string;
}

/** Thrown when a cursor file parses but is not version 1 of this format. */
export class CursorFormatError extends Error {
  override name = 'CursorFormatError';
}

export function parseCursorDoc(text: string, file: string): CursorDoc {
  let doc: Partial<CursorDoc>;
  try {
    doc = parseStateJson(text, file) as Partial<CursorDoc>;
  } catch (err) {
    throw new CursorFormatError((err as Error).message);
  }
  const ok =
    typeof doc === 'object' && doc !== null && doc.version === CURSOR_VERSION &&
    (doc.cursor === null || (typeof doc.cursor === 'string' && doc.cursor !== '' && !/[\n\0]/.test(doc.cursor))) &&
    (doc.since_s === null || (typeof doc.since_s === 'number' && Number.isFinite(doc.since_s) && doc.since_s >= 0));
  if (!ok) throw new CursorFormatError(`${file}: expected {version: 1, cursor: string|null, since_s: number|null}`);
  return doc as CursorDoc;
}

export function positionOf(doc: CursorDoc): JournalPosition {
  if (doc.cursor !== null) return { cursor: doc.cursor };
  if (doc.since_s !== null) return { sinceS: doc.since_s };
  return { head: true };
}

export class CursorStore {
  readonly file: string;
  private health: { ok: boolean; error?: string } = { ok: true };
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly stateDir: string,
    input: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.file = join(stateDir, `journal-${input}.json`);
  }

  healthy(): { ok: boolean; error?: string } {
    return { ...this.health };
  }

  /**
   * The saved document, or null at the very first start. A file that cannot be read or parsed is
   * renamed aside (`.corrupt-<ts>`) with a warning and counts as absent: reading then starts at the
   * journal's head (re-sending is the at-least-once side; skipping ahead would lose).
   */
  async load(): Promise<{ doc: CursorDoc | null; corrupt: boolean }> {
    for (const candidate of [this.file, this.file + '.tmp']) {
      let text: string;
      try {
        // Not followed through a symlink, not blocking on a FIFO, bounded: a cursor is data, like a checkpoint.
        text = await readBounded(candidate, MAX_CURSOR_FILE_BYTES);
        const doc = parseCursorDoc(text, candidate);
        if (candidate !== this.file) this.logger.warn({ file: candidate }, 'journal cursor file missing; recovered from its temp file');
        return { doc, corrupt: false };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        const aside = `${candidate}.corrupt-${this.now()}`;
        await fsp.rename(candidate, aside).catch(() => {});
        this.logger.warn({ file: candidate, kept_as: aside, err: String(err) }, 'journal cursor file unusable; kept aside, reading starts at the head of the journal');
        return { doc: null, corrupt: true };
      }
    }
    return { doc: null, corrupt: false };
  }

  /** Write atomically; serialized; failures are reported (healthy(), the log), never thrown. */
  write(doc: Omit<CursorDoc, 'version' | 'updated'>): Promise<boolean> {
    const body: CursorDoc = { version: CURSOR_VERSION, ...doc, updated: new Date(this.now()).toISOString() };
    const p = this.chain.then(async () => {
      try {
        await writeFileAtomic(this.stateDir, this.file, JSON.stringify(body));
        if (!this.health.ok) this.logger.info({ file: this.file }, 'journal cursor writes work again');
        this.health = { ok: true };
        return true;
      } catch (err) {
        const error = `${this.file}: ${(err as Error).message}`;
        if (this.health.error !== error) this.logger.error({ file: this.file, err: String(err) }, 'journal cursor write failed; will retry');
        this.health = { ok: false, error };
        return false;
      }
    });
    this.chain = p;
    return p;
  }
}
