// One journald input: runs `journalctl --output=json --follow` (agent/journal/args.ts) as a child
// of warden, turns its lines into records (entry.ts), batches them per tag (batches.ts) into the same
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
import { LineRing, LineSplitter, MAX_CHILD_LINE_BYTES } from '../../core/lines.js';
import { childEnv } from '../../core/child-env.js';
import type { Logger } from '../../core/log.js';
import { INITIAL_POLICY_STATE, nextRestart, type RestartPolicyConfig, type RestartPolicyState } from '../../core/restart-policy.js';
import type { LostReason } from '../health/labels.js';
import type { Metrics } from '../health/metrics.js';
import type { ChunkSender } from '../tail/pipeline.js';
import { journalctlArgs, type JournalPosition } from './args.js';
import { JournalBatches } from './batches.js';
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
  private readonly batches: JournalBatches;
  private readonly stderrRing = new LineRing(LOGGED_STDERR_LINES);
  private seekFailed = false;
  private counts = { records: 0, skipped: 0, restarts: 0 };
  private lastExit: string | null = null;
  private readonly onDrain = () => this.flow();

  constructor(opts: JournalSourceOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.store = new CursorStore(opts.stateDir, opts.input.name, opts.logger, this.now);
    this.batches = new JournalBatches({ input: opts.input.name, sender: opts.sender, logger: opts.logger, batch: opts.batch, flow: () => this.flow() });
  }

  get name(): string {
    return this.o.input.name;
  }

  async start(): Promise<void> {
    const { doc, corrupt } = await this.store.load();
    if (doc) {
      this.position = positionOf(doc);
      this.batches.committed = doc.cursor;
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
    this.batches.sendOpen();
    await this.batches.settle(STOP_WAIT_MS);
    await this.writeCursor();
  }

  status(): JournalStatus {
    return {
      input: this.name,
      state: this.state,
      pid: this.proc?.pid ?? null,
      cursor_file: this.store.file,
      cursor_committed: this.batches.committed,
      records: this.counts.records,
      records_acked: this.batches.acked,
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
      proc = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(process.env) });
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
    if (proc.pid !== undefined) this.o.logger.info({ input: this.name, journalctl_pid: proc.pid, args }, 'journalctl started');
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
    if (entry.record.time_out_of_range) this.o.metrics.timeOutOfRange.inc({ input: this.name });
    this.lastRead = entry.cursor;
    this.position = { cursor: entry.cursor };
    this.batches.add(entry.tag, entry.cursor, entry.sec, entry.nsec, entry.record as unknown as Record<string, unknown>);
  }

  private skip(reason: LostReason, bytes: number, msg: string): void {
    this.counts.skipped++;
    this.o.metrics.bytesLost.inc({ reason }, bytes);
    this.o.logger.warn({ input: this.name, bytes, after_cursor: this.lastRead }, msg);
  }

  private async writeCursor(): Promise<void> {
    if (!this.batches.dirty) return;
    this.batches.dirty = false;
    const ok = await this.store.write({ cursor: this.batches.committed, since_s: this.sinceS });
    if (!ok) this.batches.dirty = true;
  }
}
