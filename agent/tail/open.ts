// Opening a tracked file: a descriptor from the budget (table.ts), the confined open (confine.ts,
// through discovery), and the check that what opened is the generation to read: a start plan's
// fingerprint and tail mark, or after an idle close the fingerprint, tail mark and birth time seen
// before. A file that cannot be opened is given up, forgotten, or kept `unreadable` and retried.
import { closeSync, type Stats } from 'node:fs';
import type { Opened } from './confine.js';
import type { Tail } from './context.js';
import type { TailedFile } from './file.js';
import { fingerprintFd, fingerprintMatches, tailMatches } from './identity.js';

export class Opener {
  /** `dev:ino\0errno` of open() failures already warned about (once per file and errno until it opens again). */
  private readonly warnedOpen = new Set<string>();

  constructor(private readonly t: Tail) {}

  /** Opens under way, by file: a file opened as it is found and read by the pump shares one open. */
  private readonly opening = new Map<TailedFile, Promise<boolean>>();

  /** True when `f` holds a descriptor on the generation to read from `f.readPos`. */
  ensureOpen(f: TailedFile): Promise<boolean> {
    if (f.fd !== null) return Promise.resolve(true);
    const under = this.opening.get(f);
    if (under) return under;
    const p = this.openNew(f).finally(() => this.opening.delete(f));
    this.opening.set(f, p);
    return p;
  }

  /**
   * A file just found is opened at once, whether or not it can be read now (the child may be
   * down): from then on its descriptor keeps it readable, deleted or not. Only when
   * `tail.max_open_files` are held does it wait in line.
   */
  openFound(f: TailedFile): void {
    void this.ensureOpen(f).catch((err) => this.t.env.logger.warn({ path: f.path, err: String(err) }, 'open failed; will retry on the next event or rescan'));
  }

  private async openNew(f: TailedFile): Promise<boolean> {
    if (!this.t.table.reserve(f)) return false;
    let opened: Opened;
    try {
      opened = await this.open(f);
    } catch (err) {
      this.t.table.unreserve();
      throw err;
    }
    if (!('fd' in opened)) this.t.table.unreserve();
    else if (f.state === 'done' || !this.t.table.holds(f)) {
      // Given up or forgotten while the open was under way.
      this.t.table.unreserve();
      closeSync(opened.fd);
      return false;
    }
    if ('refused' in opened) {
      // Resolves outside the roots now (a directory on its path was swapped): closed unread, counted.
      this.t.rotations.forget(f);
      return false;
    }
    if ('gone' in opened) {
      if (f.state === 'rotated') this.t.rotations.giveUp(f, opened.gone === 'replaced' || opened.gone === 'reborn' ? 'replaced' : 'open_failed');
      else this.t.rotations.gone(f);
      return false;
    }
    if ('error' in opened) {
      this.unreadable(f, opened.error);
      return false;
    }
    const { fd, st } = opened;
    if (f.openError !== null) {
      this.t.env.logger.info({ path: f.path, real_path: f.realPath, was: f.openError }, 'file can be opened again; reading on from its offset');
      this.warnedOpen.delete(`${f.key}\0${f.openError}`);
      f.openError = null;
    }
    this.t.table.hold(f, fd);
    f.markActive();
    if (f.fpLen < 0 && reborn(f, st.birthtimeMs)) this.rebornUnread(f, st);
    if (f.resume) await this.resume(f, fd, st);
    else if (f.fpLen >= 0) await this.reopened(f, fd, st);
    f.size = st.size;
    f.birth = st.birthtimeMs > 0 ? st.birthtimeMs : null;
    const fp = await fingerprintFd(fd);
    f.fp = fp.fp;
    f.fpLen = fp.fpLen;
    return true;
  }

  private async open(f: TailedFile): Promise<Opened> {
    const { discovery } = this.t;
    const opened = await discovery.open(f.realPath, f.dev, f.ino);
    if (!('gone' in opened)) return opened;
    // Renamed again before it was (re)opened: a docker shift moves `.1` to `.2` under a file
    // recovered at start; a file closed while idle was rotated. Its inode says where it went,
    // unless the inode was freed and reused by a new file, born since.
    const found = await discovery.findByInode(f.realDir, f.dev, f.ino);
    if (!found || found === f.realPath) return opened;
    const there = await discovery.open(found, f.dev, f.ino);
    if ('fd' in there && reborn(f, there.st.birthtimeMs)) {
      closeSync(there.fd);
      return { gone: 'reborn' };
    }
    this.t.rotations.moved(f, found);
    return there;
  }

  /** A start plan (checkpoint, read_from, or where a regenerated file stood): start there if it still matches. */
  private async resume(f: TailedFile, fd: number, st: Stats): Promise<void> {
    const r = f.resume!;
    f.resume = null;
    let start = Math.min(r.offset, st.size);
    if (r.fp !== undefined && r.fpLen !== undefined) {
      const ok = r.offset <= st.size && (await fingerprintMatches(fd, { fp: r.fp, fpLen: r.fpLen })) && (!r.tail || (await tailMatches(fd, r.tail)));
      if (!ok) {
        this.t.env.logger.info({ path: f.path, offset: r.offset, size: st.size }, 'checkpoint does not match this file (inode reused or truncated); reading it from the start');
        start = 0;
      } else if (r.tail) f.tail = f.tailCommitted = r.tail;
    }
    f.lineEnd = f.committed = start;
    f.clearQueue();
  }

  /**
   * Found, never opened, and now another file at the same inode (deleted and re-created, the inode
   * reused, before reading reached it): what the file found held past its start offset is lost,
   * counted as `deleted_unread`, and the new one is read from 0.
   */
  private rebornUnread(f: TailedFile, st: Stats): void {
    const from = f.resume ? f.resume.offset : 0;
    this.t.rotations.losses.lost('deleted_unread', Math.max(0, f.size - from), f.path, 'file deleted before it was read to its end', { real_path: f.realPath, reused_inode: true });
    f.resume = { offset: 0 };
    f.lineEnd = f.committed = 0;
    f.size = st.size;
  }

  /** Reopened after an idle close: the inode may have been freed and reused meanwhile. */
  private async reopened(f: TailedFile, fd: number, st: Stats): Promise<void> {
    // A birth time other than the one seen at the last open says so even with the same first bytes.
    const born = reborn(f, st.birthtimeMs);
    // The bytes before the read offset tell a new generation that starts with the same banner; a
    // file now shorter than them is a truncation (below).
    const same =
      !born && (await fingerprintMatches(fd, { fp: f.fp, fpLen: f.fpLen })) && (!f.tail || st.size < f.tail.at || (await tailMatches(fd, f.tail)));
    if (!same) {
      this.t.env.logger.info({ path: f.path }, 'file changed identity while closed (inode reused); reading it from the start');
      this.t.lines.flushPartials(f);
      f.restart();
    } else if (st.size < f.readPos) this.t.rotations.truncated(f, st.size);
  }

  /**
   * open() failed with an error that may pass (EACCES/EPERM after a chmod, EMFILE, EIO): the file
   * keeps its identity, offset and checkpoint entry, and every rescan tries again. Forgetting it
   * instead would adopt it as new at offset 0 once readable and send acked lines again.
   */
  private unreadable(f: TailedFile, err: NodeJS.ErrnoException): void {
    const code = err.code ?? 'EUNKNOWN';
    f.markUnreadable(code);
    const key = `${f.key}\0${code}`;
    if (this.warnedOpen.has(key)) return;
    this.warnedOpen.add(key);
    this.t.env.logger.warn(
      { path: f.path, real_path: f.realPath, code, err: String(err), offset: f.committed },
      'cannot open a tailed file; keeping its offset and retrying on every rescan',
    );
  }
}

/** Whether a file born at `birthtimeMs`, at `f`'s inode, is another one born since `f` was found (where birth times are kept). */
export function reborn(f: TailedFile, birthtimeMs: number): boolean {
  return f.birth !== null && birthtimeMs > 0 && birthtimeMs !== f.birth;
}
