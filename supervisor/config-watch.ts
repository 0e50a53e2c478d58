// Following a config file without SIGHUP. A mounted ConfigMap changes by an atomic swap of its
// `..data` symlink (warden.yaml → ..data/warden.yaml, ..data → ..2026_12_01_…): the file's inode,
// not its bytes in place, changes, and inotify on the file itself sees nothing. So the files are
// polled and compared by a hash of their bytes (read like every config: bounded, regular files
// only, never waited on), which sees a symlink swap, an in-place edit and a rename over the file alike.
// A poll first stats the path (through its symlinks): while device, inode, size, mtime and ctime
// (nanoseconds) are what they were at the last read, the bytes are too, and they are not read again.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { ConfigError, readConfigBytes } from '../config/load.js';
import type { Logger } from '../core/log.js';

/** The short form of a config's sha256 shown in /status and the log. */
export function configHash(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export interface ConfigWatchOptions {
  paths: string[];
  intervalMs: number;
  logger: Logger;
  /** Called once per settled change, with the file that changed. */
  onChange: (path: string) => void;
  read?: (path: string) => Buffer;
}

/**
 * Polls `paths` every `intervalMs`. A change fires `onChange` only once the new bytes read the same
 * on two polls in a row (an editor writing in place is seen half-written at most once). A file that
 * cannot be read is not a change: the running config stays, and it is said once until it reads again.
 */
export class ConfigWatcher {
  private readonly seen = new Map<string, string | null>();
  private readonly candidate = new Map<string, string>();
  private readonly unreadable = new Set<string>();
  /** Per path: the stat seen before its last read, and the hash of what that read gave. */
  private readonly lastRead = new Map<string, { stat: string; hash: string }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly read: (path: string) => Buffer;

  constructor(private readonly opts: ConfigWatchOptions) {
    this.read = opts.read ?? readConfigBytes;
    for (const p of opts.paths) this.seen.set(p, this.hashOf(p));
  }

  start(): void {
    if (this.timer || this.opts.intervalMs <= 0 || !this.opts.paths.length) return;
    this.timer = setInterval(() => this.poll(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Take `hash` as the current state of `path` (after a reload read it), so it fires no reload. */
  settle(path: string, hash: string): void {
    this.seen.set(path, hash);
    this.candidate.delete(path);
  }

  poll(): void {
    for (const path of this.opts.paths) {
      const hash = this.hashOf(path);
      if (hash === null || hash === this.seen.get(path)) {
        this.candidate.delete(path);
        continue;
      }
      if (this.candidate.get(path) !== hash) {
        this.candidate.set(path, hash);
        continue;
      }
      this.settle(path, hash);
      this.opts.logger.info({ path, hash }, 'configuration file changed; reloading');
      this.opts.onChange(path);
    }
  }

  private hashOf(path: string): string | null {
    const stat = statKey(path);
    const last = this.lastRead.get(path);
    if (stat !== null && last?.stat === stat) return last.hash;
    this.lastRead.delete(path);
    try {
      const hash = configHash(this.read(path));
      if (stat !== null) this.lastRead.set(path, { stat, hash });
      if (this.unreadable.delete(path)) this.opts.logger.info({ path }, 'watched configuration file can be read again');
      return hash;
    } catch (err) {
      if (!this.unreadable.has(path)) {
        this.unreadable.add(path);
        const reason = err instanceof ConfigError ? err.errors.join('; ') : String(err);
        this.opts.logger.warn({ path, err: reason }, 'cannot read a watched configuration file; the running configuration stays');
      }
      return null;
    }
  }
}

/** What changes whenever a file's bytes or the file behind a path do; null when it cannot be stat'ed. */
function statKey(path: string): string | null {
  let st;
  try {
    st = statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return null;
  }
  if (!st || !st.isFile()) return null;
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}
