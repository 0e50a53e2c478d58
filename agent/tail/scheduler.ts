// Which file is read next, and when; it reads nothing itself. Files with something to read wait
// in a queue (insertion order); one pump at a time takes them (reads are sequential: one read
// buffer serves all files) while reading is allowed: started, not stopping, not paused (child not
// ready) and the sender writable (the files are the buffer). The rate limit is a token bucket of
// bytes per second on the monotonic clock.
import type { Tail } from './context.js';
import type { TailedFile } from './file.js';

export class Scheduler {
  private readonly ready = new Set<TailedFile>();
  private pumping: Promise<void> | null = null;
  private started = false;
  private paused = false;
  private rateTimer: NodeJS.Timeout | null = null;
  private rate: number | null = null;
  private tokens = 0;
  private tokensAt = 0;

  constructor(private readonly t: Tail) {}

  /** Reading may begin (start() calls it before the first scan). False when it had already begun. */
  start(): boolean {
    if (this.started) return false;
    this.started = true;
    return true;
  }

  get running(): boolean {
    return this.started;
  }

  /** `f` has something to read: queue it and make sure a pump runs. */
  want(f: TailedFile): void {
    if (f.state === 'done') return;
    this.ready.add(f);
    this.kick();
  }

  /** Queue `f` again for a pump already running or the next kick (no kick of its own). */
  again(f: TailedFile): void {
    this.ready.add(f);
  }

  drop(f: TailedFile): void {
    this.ready.delete(f);
  }

  queued(f: TailedFile): boolean {
    return this.ready.has(f);
  }

  setPaused(on: boolean): void {
    this.paused = on;
    if (!on) this.kick();
  }

  setRate(bytesPerSec: number | null): void {
    this.rate = bytesPerSec !== null && bytesPerSec > 0 ? bytesPerSec : null;
    this.tokens = 0;
    this.tokensAt = this.t.env.mono();
    this.kick();
  }

  /** `n` bytes were read: taken from the rate limit's bucket. */
  spend(n: number): void {
    if (this.rate !== null) this.tokens -= n;
  }

  /** Resolves once the pump running now (if any) has returned. */
  idle(): Promise<void> {
    return this.pumping ?? Promise.resolve();
  }

  stop(): void {
    if (this.rateTimer) clearTimeout(this.rateTimer);
  }

  kick(): void {
    if (this.pumping || !this.canRead() || this.ready.size === 0) return;
    // The pump starts a microtask later, once `pumping` is set: its synchronous start can call
    // kick() again (freeSlot → closeFd → want), and a second pump would open past max_open_files.
    this.pumping = Promise.resolve()
      .then(() => this.pump())
      .finally(() => {
        this.pumping = null;
        if (this.ready.size > 0 && this.canRead() && !this.rateTimer) setImmediate(() => this.kick());
      });
  }

  private canRead(): boolean {
    return this.started && !this.t.env.stopping && !this.paused && this.t.env.sender.writable();
  }

  private async pump(): Promise<void> {
    while (this.canRead()) {
      if (!this.takeTokens()) return;
      const f = this.ready.values().next().value as TailedFile | undefined;
      if (!f) return;
      this.ready.delete(f);
      f.busy = true;
      try {
        await this.t.reader.step(f);
      } catch (err) {
        this.t.env.logger.warn({ path: f.path, err: String(err) }, 'read failed; will retry on the next event or rescan');
      } finally {
        f.busy = false;
        if (f.state === 'done') this.t.table.closeFd(f);
      }
    }
  }

  private takeTokens(): boolean {
    if (this.rate === null) return true;
    const now = this.t.env.mono();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.tokensAt) * this.rate) / 1000);
    this.tokensAt = now;
    if (this.tokens > 0) return true;
    const waitMs = Math.max(10, Math.ceil((-this.tokens / this.rate) * 1000));
    if (!this.rateTimer) {
      this.rateTimer = setTimeout(() => {
        this.rateTimer = null;
        this.kick();
      }, waitMs);
    }
    return false;
  }
}
