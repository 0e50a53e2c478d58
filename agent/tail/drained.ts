// Rotated files read to their end (or given up) and forgotten, by `dev:ino`, with the size they
// had then: their checkpoint entries are kept while the files exist, so that neither a rescan's
// look at rotated siblings nor a restart reads them again. An entry goes when a listing of its
// directory lacks the file, or, past DRAINED_MAX, oldest first (at worst one file is read again).
import type { CheckpointEntry } from './checkpoint.js';

const DRAINED_MAX = 10_000;

interface Drained {
  entry: CheckpointEntry;
  size: number;
  dir: string;
}

export class DrainedFiles {
  private readonly byKey = new Map<string, Drained>();

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Its entry, unless the file grew past the size it had when drained (new lines: read it again). */
  covers(key: string, size: number): boolean {
    const d = this.byKey.get(key);
    return d !== undefined && size <= d.size;
  }

  /** Remember a drained file (newest last). */
  remember(key: string, entry: CheckpointEntry, size: number, dir: string): void {
    this.byKey.delete(key);
    this.byKey.set(key, { entry, size, dir });
    for (const k of this.byKey.keys()) {
      if (this.byKey.size <= DRAINED_MAX) break;
      this.byKey.delete(k);
    }
  }

  /** Its entry, forgotten here (the file is tracked again). */
  take(key: string): CheckpointEntry | undefined {
    const d = this.byKey.get(key);
    this.byKey.delete(key);
    return d?.entry;
  }

  /** A listing of `dir` found only `keys`: the others there are gone. */
  prune(dir: string, keys: Set<string>): void {
    for (const [key, d] of this.byKey) if (d.dir === dir && !keys.has(key)) this.byKey.delete(key);
  }

  *entries(): IterableIterator<[string, CheckpointEntry]> {
    for (const [key, d] of this.byKey) yield [key, d.entry];
  }
}
