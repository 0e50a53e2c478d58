// Where a newly tracked file starts reading: its checkpoint entry, loaded at start and taken by
// the first file found with its `dev:ino` (verified against its fingerprint when opened); at the
// very first start (no checkpoint file at all) a file found by the initial scan starts at its end
// when `tail.read_from` is `end`; anything else starts at 0.
import type { CheckpointEntry, LoadResult } from './checkpoint.js';
import type { Tail } from './context.js';
import type { Candidate } from './discovery.js';
import type { ResumePlan } from './file.js';
import { candidateKey, inodeKey } from './identity.js';

export class StartPlans {
  private readonly saved = new Map<string, CheckpointEntry>();
  private firstStart = false;

  constructor(private readonly t: Tail) {}

  /** Wall time of the start (load). */
  private startedAt = 0;

  load(loaded: LoadResult): void {
    this.firstStart = !loaded.existed;
    this.startedAt = this.t.env.wall();
    for (const e of loaded.entries) this.saved.set(inodeKey(e.dev, e.ino), e);
  }

  /** Checkpoint entries no file was found for yet. */
  unclaimed(): IterableIterator<[string, CheckpointEntry]> {
    return this.saved.entries();
  }

  /** The entry for `key`, claimed (no other file starts from it). */
  take(key: string): CheckpointEntry | undefined {
    const e = this.saved.get(key);
    this.saved.delete(key);
    return e;
  }

  /** After start: entries still unclaimed are of files gone while warden was down. */
  clear(): void {
    this.saved.clear();
  }

  /**
   * Whether a rotated file last written before this start is left unread: at the very first start
   * with `tail.read_from: end`, history is not read, and a rotation already there is history as
   * much as the live file's lines are. One written since was written while warden looked.
   */
  beforeFirstStart(mtimeMs: number): boolean {
    return this.firstStart && this.t.env.config.tail.read_from === 'end' && mtimeMs < this.startedAt;
  }

  /** The start of a file adopted from discovery (`initial`: found by the first scan at start). */
  planFor(c: Candidate, initial: boolean): ResumePlan {
    const saved = this.take(candidateKey(c));
    if (saved) {
      const tail = saved.tail_hash !== undefined ? { at: saved.tail_at!, len: saved.tail_len!, hash: saved.tail_hash } : undefined;
      return { offset: saved.offset, fp: saved.fp, fpLen: saved.fp_len, tail };
    }
    if (initial && this.firstStart && this.t.env.config.tail.read_from === 'end') return { offset: c.size };
    return { offset: 0 };
  }
}
