// One journald input: runs `journalctl --output=json --follow` (agent/journal/args.ts) as a child
// of warden, turns its lines into records (entry.ts), batches them per tag into the same
// ChunkSender the file pipeline uses, and commits the cursor of the last entry acked — with every
// entry before it — to state_dir (cursor.ts). A restart of warden resumes after that cursor: nothing
// acked is sent again except what was acked after the last cursor write, nothing unacked is lost.
//
// journalctl is supervised like the child: an exit that warden did not ask for is logged with its
// last stderr lines and followed by a new start after the restart policy's backoff
// (supervisor/restart-policy.ts), from the last entry read (entries read but not acked stay in
// flight in the sender, which resends them). Everything read is bounded: a line longer than
// `maxRecordBytes` is skipped and counted (a cut JSON line is no entry); the pipe is not read while
// the sender has no room or the child is not ready, so journalctl blocks and the journal is the
// buffer; stderr lines are cut at MAX_CHILD_LINE_BYTES.
import { spawn, type ChildProcess } from 'node:child_process';
import type { JournalInputConfig } from '../../config/schema.js';
import { LineRing, LineSplitter, MAX_CHILD_LINE_BYTES } from '../../supervisor/child-output.js';
import type { Logger } from '../../core/log.js';
import { INITIAL_POLICY_STATE, nextRestart, type RestartPolicyConfig, type RestartPolicyState } from '../../supervisor/restart-policy.js';
import { concatEntries, encodeEntry, newEncoder } from '../forward/protocol.js';
import type { Metrics } from '../health/metrics.js';
import type { ChunkSender } from '../tail/pipeline.js';
import { journalctlArgs, type JournalPosition } from './args.js';
import { CursorStore, positionOf } from './cursor.js';
import { JournalEntryError, parseJournalLine } from './entry.js';

export interface JournalSourceOptions {
  input: JournalInputConfig;
  stateDir: string;
  /** Put in every record as `host`. */
  host: string;
  sender: ChunkSender;
  logger: Logger;
  metrics: Metrics;
  /** Where the very first start begins: `head` = every entry in the journal, `end` = entries from now on. */
  readFrom: 'head' | 'end';
  /** A JSON line (one entry) longer than this is skipped and counted. */
  maxRecordBytes: number;
  batch: { maxRecords: number; maxBytes: number; flushMs: number };
  restart: RestartPolicyConfig;
  /** `journal_files` only: how long after journalctl read to the end it is run again. */
  pollIntervalMs: number;
  /** How often a moved cursor is written. */
  checkpointIntervalMs: number;
  /** The program; default `journalctl` from PATH. */
  journalctl?: string;
  now?: () => number;
  random?: () => number;
}

/**
 * - `starting`: before the cursor file is read → `running`.
 * - `running`: journalctl runs (or, for `journal_files`, is between two reads) → `backoff` | `stopped`.
 * - `backoff`: journalctl ended unasked; waiting out the restart delay → `running` | `stopped`.
 * - `stopped`: after stop(); terminal.
 */
export type JournalState = 'starting' | 'running' | 'backoff' | 'stopped';

export interface JournalStatus {
  input: string;
  state: JournalState;
  pid: number | null;
  cursor_file: string;
  /** Cursor of the last entry acked with all before it; null before the first. */
  cursor_committed: string | null;
  /** Entries read from journalctl (since warden started). */
  records: number;
  records_acked: number;
  /** Lines over the size limit or not a journal entry, skipped. */
  skipped: number;
  /** journalctl starts after an exit warden did not ask for. */
  restarts: number;
  last_exit: string | null;
}

/** Consecutive entries of one tag, all in one batch: the unit the cursor moves over. */
interface Span {
  cursor: string;
  count: number;
  acked: boolean;
}

interface OpenBatch {
  tag: string;
  parts: Uint8Array[];
  bytes: number;
  spans: Span[];
  timer: NodeJS.Timeout;
}

/** Bound on waiting for in-flight chunks to be acked at stop (as the file pipeline's). */
const STOP_WAIT_MS = 5000;
/** After SIGTERM, journalctl gets this long before SIGKILL. */
const KILL_AFTER_MS = 2000;
const LOGGED_STDERR_LINES = 20;

export class JournalSource {
  private readonly o: JournalSourceOptions;
  private readonly now: () => number;
  private readonly store: CursorStore;
  private state: JournalState = 'starting';
  private proc: ChildProcess | null = null;
  private procStartedAt = 0;
  private stoppingProc = false;
  private timer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private policy: RestartPolicyState = INITIAL_POLICY_STATE;
  private paused = false;
  private stopped = false;
  /** Where journalctl starts next: after the last entry read, else where this run began. */
  private position: JournalPosition = { head: true };
  private sinceS: number | null = null;
  private lastRead: string | null = null;
  private committed: string | null = null;
  private dirty = false;
  /** Spans not yet committed, oldest first, from index `spanHead` on. */
  private spans: Span[] = [];
  private spanHead = 0;
  private readonly open = new Map<string, OpenBatch>();
  private openBytes = 0;
  private readonly inflight = new Set<Promise<void>>();
  private readonly stderrRing = new LineRing(LOGGED_STDERR_LINES);
  private seekFailed = false;
  private counts = { records: 0, acked: 0, skipped: 0, restarts: 0 };
  private lastExit: string | null = null;
  private readonly onDrain = () => this.flow();
  /** Encodes this source's records (its buffer is reused entry after entry). */
  private readonly encoder = newEncoder();

  constructor(opts: JournalSourceOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.store = new CursorStore(opts.stateDir, opts.input.name, opts.logger, this.now);
  }

  get name(): string {
    return this.o.input.name;
  }

  async start(): Promise<void> {
    const { doc, corrupt } = await this.store.load();
    if (doc) {
      this.position = positionOf(doc);
      this.committed = doc.cursor;
      this.sinceS = doc.since_s;
    } else if (this.o.readFrom === 'end' && !corrupt) {
      // The very first start: remember where it began, so a restart before the first ack begins there too.
      this.sinceS = Math.floor(this.now() / 1000);
      this.position = { sinceS: this.sinceS };
      await this.store.write({ cursor: null, since_s: this.sinceS });
    }
    if (this.stopped) return;
    this.o.sender.on('drain', this.onDrain);
    this.checkpointTimer = setInterval(() => void this.writeCursor(), this.o.checkpointIntervalMs);
    this.checkpointTimer.unref();
    this.state = 'running';
    this.launch();
  }

  /** The child is not ready: stop reading journalctl's output (it blocks; the journal is the buffer). */
  pause(): void {
    this.paused = true;
    this.proc?.stdout?.pause();
  }

  resume(): void {
    this.paused = false;
    this.flow();
  }

  /** Stop journalctl, send open batches, wait (bounded) for their acks, write the cursor. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.o.sender.off?.('drain', this.onDrain);
    await this.endProc();
    for (const b of [...this.open.values()]) this.send(b);
    if (this.inflight.size > 0) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inflight]), new Promise<void>((r) => (t = setTimeout(r, STOP_WAIT_MS)))]);
      clearTimeout(t);
    }
    await this.writeCursor();
  }

  status(): JournalStatus {
    return {
      input: this.name,
      state: this.state,
      pid: this.proc?.pid ?? null,
      cursor_file: this.store.file,
      cursor_committed: this.committed,
      records: this.counts.records,
      records_acked: this.counts.acked,
      skipped: this.counts.skipped,
      restarts: this.counts.restarts,
      last_exit: this.lastExit,
    };
  }

  cursorHealth(): { ok: boolean; error?: string } {
    return this.store.healthy();
  }

  // ---- journalctl ---------------------------------------------------------------------------

  private launch(): void {
    this.timer = null;
    if (this.stopped) return;
    const { args, follow } = journalctlArgs(this.o.input, this.position);
    const program = this.o.journalctl ?? 'journalctl';
    let proc: ChildProcess;
    try {
      proc = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.ended(null, null, (err as NodeJS.ErrnoException).code ?? 'EINVAL', follow);
      return;
    }
    this.proc = proc;
    this.procStartedAt = this.now();
    this.stoppingProc = false;
    this.seekFailed = false;
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError: string | null) => {
      if (done) return;
      done = true;
      if (this.proc === proc) this.proc = null;
      this.ended(code, signal, spawnError, follow);
    };
    // If `error` is emitted before `spawn`, no exit follows: either path ends the run once.
    proc.once('error', (err: NodeJS.ErrnoException) => {
      if (proc.pid === undefined) finish(null, null, err.code ?? 'EUNKNOWN');
    });
    // `close`, not `exit`: entries still in the pipe after journalctl exited are read first.
    proc.once('close', (code, signal) => finish(code, signal, null));

    const out = new LineSplitter(this.o.maxRecordBytes, (line, dropped) => this.onLine(line, dropped));
    proc.stdout!.on('data', (chunk: Buffer) => {
      out.write(chunk);
      this.flow();
    });
    // A last line without newline is an entry cut by journalctl's exit: it is read again from the cursor.
    proc.stdout!.on('error', () => {});
    const err = new LineSplitter(MAX_CHILD_LINE_BYTES, (line, dropped) => {
      this.stderrRing.push(line);
      if (/seek to cursor/i.test(line)) this.seekFailed = true;
      this.o.logger.warn(dropped > 0 ? { input: this.name, journalctl: proc.pid, truncated_bytes: dropped } : { input: this.name, journalctl: proc.pid }, line);
    });
    proc.stderr!.on('data', (chunk: Buffer) => err.write(chunk));
    proc.stderr!.on('error', () => {});
    proc.stderr!.once('end', () => err.end());
    if (proc.pid !== undefined) this.o.logger.info({ input: this.name, pid: proc.pid, args }, 'journalctl started');
    this.flow();
  }

  private ended(code: number | null, signal: NodeJS.Signals | null, spawnError: string | null, follow: boolean): void {
    const asked = this.stoppingProc || this.stopped;
    const how = spawnError ? `start_failed(${spawnError})` : signal ? `signaled(${signal})` : `exited(${code})`;
    if (asked) return;
    if (!follow && code === 0) {
      // journal_files: read to the end; read again later from the cursor.
      this.timer = setTimeout(() => this.launch(), this.o.pollIntervalMs);
      return;
    }
    this.lastExit = how;
    const uptimeS = (this.now() - this.procStartedAt) / 1000;
    if (this.seekFailed && 'cursor' in this.position) {
      // Only a cursor that is not one (an edited file) fails to seek; one whose entries were vacuumed
      // seeks to the nearest entry. Starting at the head re-sends, skipping would lose.
      this.o.logger.error({ input: this.name, cursor: this.position.cursor }, 'journalctl cannot seek to the saved cursor; reading from the head of the journal');
      this.position = { head: true };
    }
    const decision = nextRestart(this.policy, this.o.restart, uptimeS, this.o.random ?? Math.random);
    this.policy = decision.state;
    this.counts.restarts++;
    this.o.logger[spawnError === 'ENOENT' || this.policy.degraded ? 'error' : 'warn'](
      {
        input: this.name,
        reason: how,
        uptime_s: Math.round(uptimeS * 1000) / 1000,
        delay_ms: decision.delayMs,
        last_lines: this.stderrRing.lines(),
        ...(spawnError === 'ENOENT' ? { hint: 'journalctl is not installed (Debian/Ubuntu package systemd)' } : {}),
      },
      'journalctl ended; starting it again after the backoff',
    );
    this.state = 'backoff';
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.state = 'running';
      this.launch();
    }, decision.delayMs);
  }

  /** End the running journalctl (asked): its output is not read further. */
  private async endProc(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    this.stoppingProc = true;
    const closed = new Promise<void>((r) => proc.once('close', () => r()));
    proc.stdout?.destroy();
    proc.kill('SIGTERM');
    let t: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((r) => (t = setTimeout(() => (proc.kill('SIGKILL'), r()), KILL_AFTER_MS)));
    await Promise.race([closed, killed]);
    clearTimeout(t);
  }

  /** Read while there is room in the sender and the child is ready; else let journalctl block. */
  private flow(): void {
    const stdout = this.proc?.stdout;
    if (!stdout || this.stopped) return;
    if (this.paused || !this.o.sender.writable()) stdout.pause();
    else stdout.resume();
  }

  // ---- entries → batches ----------------------------------------------------------------------

  private onLine(line: string, dropped: number): void {
    if (this.stopped && this.stoppingProc) return;
    if (dropped > 0) {
      this.skip('journal_record_too_big', line.length + dropped, `a journal entry longer than tail.max_line_bytes (${this.o.maxRecordBytes}) was skipped`);
      return;
    }
    if (line === '') return;
    let entry;
    try {
      entry = parseJournalLine(line, this.o.host, this.now());
    } catch (err) {
      if (!(err instanceof JournalEntryError)) throw err;
      this.skip('journal_bad_entry', Buffer.byteLength(line), `a journalctl line is not a journal entry (${err.message}); skipped`);
      return;
    }
    this.counts.records++;
    this.o.metrics.linesRead.inc({ input: this.name });
    this.o.metrics.bytesRead.inc({ input: this.name }, line.length + 1);
    this.lastRead = entry.cursor;
    this.position = { cursor: entry.cursor };
    const bytes = encodeEntry(entry.sec, entry.nsec, entry.record as unknown as Record<string, unknown>, this.encoder);
    const b = this.batchFor(entry.tag);
    b.parts.push(bytes);
    b.bytes += bytes.byteLength;
    this.openBytes += bytes.byteLength;
    const last = this.spans.length > this.spanHead ? this.spans[this.spans.length - 1] : undefined;
    const mine = b.spans[b.spans.length - 1];
    if (mine && mine === last) {
      mine.cursor = entry.cursor;
      mine.count++;
    } else {
      const span: Span = { cursor: entry.cursor, count: 1, acked: false };
      this.spans.push(span);
      b.spans.push(span);
    }
    const { maxRecords, maxBytes } = this.o.batch;
    if (b.parts.length >= maxRecords || b.bytes >= maxBytes) this.send(b);
    // Many tags must not each hold a nearly full batch: over the byte bound in all, send the biggest.
    while (this.openBytes > maxBytes && this.open.size > 0) {
      let big: OpenBatch | null = null;
      for (const o of this.open.values()) if (!big || o.bytes > big.bytes) big = o;
      this.send(big!);
    }
  }

  private skip(reason: string, bytes: number, msg: string): void {
    this.counts.skipped++;
    this.o.metrics.bytesLost.inc({ reason }, bytes);
    this.o.logger.warn({ input: this.name, bytes, after_cursor: this.lastRead }, msg);
  }

  private batchFor(tag: string): OpenBatch {
    let b = this.open.get(tag);
    if (!b) {
      const opened: OpenBatch = { tag, parts: [], bytes: 0, spans: [], timer: setTimeout(() => this.send(opened), this.o.batch.flushMs) };
      opened.timer.unref();
      b = opened;
      this.open.set(tag, b);
    }
    return b;
  }

  private send(b: OpenBatch): void {
    if (this.open.get(b.tag) !== b) return;
    clearTimeout(b.timer);
    this.open.delete(b.tag);
    this.openBytes -= b.bytes;
    let p: Promise<void>;
    try {
      p = this.o.sender.send(b.tag, concatEntries(b.parts), b.parts.length);
    } catch (err) {
      p = Promise.reject(err);
    }
    const { tag, spans } = b;
    const count = b.parts.length;
    const tracked = p.then(
      () => this.acked(spans, count),
      (err) => this.o.logger.warn({ input: this.name, tag, records: count, err: String(err) }, 'journal batch not acknowledged; the cursor stays before it'),
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
    this.flow();
  }

  /** Acks may come out of order across chunks: the cursor moves only over a prefix of acked spans. */
  private acked(spans: Span[], count: number): void {
    this.counts.acked += count;
    for (const s of spans) s.acked = true;
    let moved = false;
    while (this.spanHead < this.spans.length && this.spans[this.spanHead]!.acked) {
      this.committed = this.spans[this.spanHead++]!.cursor;
      moved = true;
    }
    // Drop the committed prefix now and then, not per ack (shift() would copy the rest each time).
    if (this.spanHead > 1024 && this.spanHead * 2 > this.spans.length) {
      this.spans = this.spans.slice(this.spanHead);
      this.spanHead = 0;
    }
    if (moved) this.dirty = true;
  }

  private async writeCursor(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const ok = await this.store.write({ cursor: this.committed, since_s: this.sinceS });
    if (!ok) this.dirty = true;
  }
}
