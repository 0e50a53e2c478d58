// The runtimes' side of the run: every 50 ms each source gets its share of the rate, some lines
// long (split by the runtime into partials), some writes stopped mid-line and finished on the next
// tick; each source is rotated every ROTATE_BYTES and rotated files are never deleted. The ledger
// is each source's `seq`: lines `<key>#0` … `<key>#<seq-1>` were written.
import { appendFileSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { criLines, dockerLines } from '../gen-logs.js';
import type { Source } from './node.js';

/** Rotation size of every source (kubelet's containerLogMaxSize, Docker's max-size). */
const ROTATE_BYTES = 512 * 1024;
const TICK_MS = 50;

export class Writer {
  written = 0;
  rotations = 0;
  private readonly perTick: number;
  private readonly pendingTail = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sources: Source[],
    rate: number,
    private readonly r: () => number,
  ) {
    this.perTick = Math.max(1, Math.round(rate / (1000 / TICK_MS) / sources.length));
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Stops writing and finishes torn lines, so every ledger line is complete. */
  stop(): void {
    clearInterval(this.timer);
    for (const s of this.sources) {
      const tail = this.pendingTail.get(s.key);
      if (tail) appendFileSync(s.path, tail);
    }
  }

  private tick(): void {
    for (const s of this.sources) {
      let chunk = this.pendingTail.get(s.key) ?? '';
      this.pendingTail.delete(s.key);
      for (let i = 0; i < this.perTick; i++) chunk += this.line(s);
      // Occasionally leave the last line unfinished until the next tick (a write torn mid-line).
      if (this.r() < 0.1 && chunk.length > 40) {
        const cut = chunk.length - 1 - Math.floor(this.r() * 30);
        this.pendingTail.set(s.key, chunk.slice(cut));
        chunk = chunk.slice(0, cut);
      }
      appendFileSync(s.path, chunk);
      s.bytes += Buffer.byteLength(chunk);
      if (s.bytes >= ROTATE_BYTES) this.rotate(s);
    }
  }

  /** The next ledger line of `s`, framed as its runtime writes it. */
  private line(s: Source): string {
    const r = this.r;
    const long = r() < 0.0005;
    const text = `${s.key}#${s.seq} ${long ? 'L'.repeat(20000 + Math.floor(r() * 20000)) : 'x'.repeat(80 + Math.floor(r() * 100))}`;
    s.seq++;
    this.written++;
    const ns = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(r() * 1e6));
    if (s.kind === 'cri') return criLines(text, 'stdout', ns);
    if (s.kind === 'docker') return dockerLines(text, 'stdout', ns);
    return `${new Date().toISOString()} ${text}\n`;
  }

  private rotate(s: Source): void {
    const tail = this.pendingTail.get(s.key);
    if (tail) {
      appendFileSync(s.path, tail);
      this.pendingTail.delete(s.key);
    }
    s.rotations++;
    this.rotations++;
    if (s.kind === 'cri') {
      // kubelet: 0.log → 0.log.<timestamp>, a new 0.log (the /var/log/containers link stays).
      renameSync(s.path, `${s.path}.${Date.now()}-${s.rotations}`);
    } else if (s.kind === 'docker') {
      // Docker: shift .k → .k+1 (oldest first), -json.log → .1; nothing is deleted.
      for (let k = s.rotations - 1; k >= 1; k--) if (existsSync(`${s.path}.${k}`)) renameSync(`${s.path}.${k}`, `${s.path}.${k + 1}`);
      renameSync(s.path, `${s.path}.1`);
    } else {
      renameSync(s.path, `${s.path}.${s.rotations}`);
    }
    writeFileSync(s.path, '');
    s.bytes = 0;
  }
}
