// The tail pipeline: discovery → per-file reader → parse → reassembly → record → per-tag batch →
// ChunkSender, and back: ack → segment settled → checkpoint. The files are the buffer: reading
// stops while the sender is not writable, so memory is bounded by the in-flight window and the
// open batches, never by how far behind reading is.
//
// At least once: a file's checkpoint moves only over segments whose batches were all acked, in
// file order (acks may arrive out of order across chunks). Text still in the Reassembler or in an
// unterminated line is never committed.
//
// TailPipeline is the composition root and the public face (start, stop, the supervisor's levers,
// snapshots); the work is done by its collaborators (context.ts), and its own timers only call
// them: the rescan, and housekeeping (partials, rotated and idle files, waiting files, checkpoint).
import type { Config } from '../../config/schema.js';
import type { TailControl } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../health/metrics.js';
import { Adopter } from './adopt.js';
import { CheckpointStore } from './checkpoint.js';
import type { ChunkSender, Tail, TailEnv } from './context.js';
import { Discovery } from './discovery.js';
import { DrainedFiles } from './drained.js';
import { displayIdentity, EMPTY_FP } from './identity.js';
import { AckLedger } from './ledger.js';
import { LineAssembler } from './lines.js';
import { Opener } from './open.js';
import { StartPlans } from './plans.js';
import { FileReader } from './read.js';
import { Rotations } from './rotated.js';
import { DirInodes } from './rotations.js';
import { Scheduler } from './scheduler.js';
import { Siblings } from './siblings.js';
import { FileTable } from './table.js';

export type { ChunkSender } from './context.js';

export interface TailPipelineOptions {
  config: Config;
  sender: ChunkSender;
  logger: Logger;
  metrics: Metrics;
  host: string;
  /** Wall clock (ms since the epoch) for record times and checkpoint `updated`; Date.now by default. */
  now?: () => number;
  /** Monotonic clock (ms) for every duration and timeout; performance.now by default. */
  monotonic?: () => number;
  /** False: every line takes the general path (parser, Reassembler, record encoder). Default true. */
  bytePath?: boolean;
}

export interface FileStatus {
  path: string;
  input: string;
  identity: string;
  offset: number;
  size: number;
  lag: number;
  state: string;
  /** Whether warden holds a descriptor on it: from then on, deleting it loses nothing. */
  open: boolean;
}

const STOP_WAIT_MS = 5000;

export class TailPipeline implements TailControl {
  private readonly t: Tail;
  private readonly env: TailEnv;
  private rescanTimer: NodeJS.Timeout | null = null;
  private houseTimer: NodeJS.Timeout | null = null;
  private readonly onDrain = () => this.t.scheduler.kick();

  constructor(opts: TailPipelineOptions) {
    const mono = opts.monotonic ?? (() => performance.now());
    this.env = {
      config: opts.config, logger: opts.logger, metrics: opts.metrics, host: opts.host, sender: opts.sender,
      wall: opts.now ?? Date.now, mono, bytePath: opts.bytePath ?? true, stopping: false,
    };
    const env = this.env;
    // Each collaborator keeps `t` and reaches the others through it at call time, so they can be
    // built in any order; all are in place before start().
    const t = { env } as { -readonly [K in keyof Tail]: Tail[K] };
    t.discovery = new Discovery(opts.config, opts.logger, opts.metrics);
    t.store = new CheckpointStore(opts.config.state_dir, opts.logger, opts.metrics, env.wall);
    t.plans = new StartPlans(t);
    t.drained = new DrainedFiles();
    t.table = new FileTable(t);
    t.scheduler = new Scheduler(t);
    t.ledger = new AckLedger(t);
    t.lines = new LineAssembler(t);
    t.reader = new FileReader(t);
    t.opener = new Opener(t);
    t.rotations = new Rotations(t);
    t.siblings = new Siblings(t);
    t.adopter = new Adopter(t);
    this.t = t;
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async start(): Promise<void> {
    const { discovery, store, plans, adopter, siblings, scheduler, ledger } = this.t;
    if (!scheduler.start()) return;
    await discovery.init();
    plans.load(await store.load());
    for (const c of await discovery.scan()) adopter.adopt(c, true);
    await siblings.recover();
    await siblings.read(new DirInodes());
    plans.clear();
    ledger.markDirty();
    this.env.sender.on('drain', this.onDrain);
    discovery.startWatching((ev, p) => adopter.onPathEvent(ev, p), this.env.config.forward.flush_interval_ms);
    const t = this.env.config.tail;
    this.rescanTimer = setInterval(() => void adopter.rescan(), t.rescan_interval_ms);
    // Batches flush on their own tick (Batcher); this one serves partials, rotated and idle
    // files and the checkpoint, and walks every file, so it runs no more often than those need:
    // at most once a second (each wake-up of an idle process costs more than its walk).
    const houseMs = Math.max(10, Math.min(1000, t.partial_flush_ms, t.checkpoint_interval_ms));
    this.houseTimer = setInterval(() => this.housekeeping(), houseMs);
    scheduler.kick();
  }

  /** Stop reading, send open batches, wait (bounded) for acks, write the final checkpoint, close fds. */
  async stop(): Promise<void> {
    const { discovery, scheduler, adopter, rotations, ledger, siblings, table } = this.t;
    if (!scheduler.running || this.env.stopping) return;
    this.env.stopping = true;
    for (const timer of [this.rescanTimer, this.houseTimer]) if (timer) clearInterval(timer);
    scheduler.stop();
    adopter.close();
    this.env.sender.off?.('drain', this.onDrain);
    await discovery.close();
    await scheduler.idle();
    await adopter.idle();
    const deadline = this.env.mono() + STOP_WAIT_MS;
    await rotations.drainDeleted(deadline);
    ledger.flush();
    ledger.close();
    await ledger.settled(deadline);
    await siblings.noteCopies(new DirInodes()).catch(() => undefined);
    await ledger.writeCheckpoint();
    rotations.losses.flush();
    table.closeAll();
  }

  /** The child is not ready: stop reading (state kept). */
  pause(): void {
    this.t.scheduler.setPaused(true);
  }

  resume(): void {
    this.t.scheduler.setPaused(false);
  }

  setRateLimit(bytesPerSec: number | null): void {
    this.t.scheduler.setRate(bytesPerSec);
  }

  /** Shed memory: smaller batches and reads, and close every file that is at EOF now. */
  shed(on: boolean): void {
    this.t.reader.shedding = on;
    this.t.ledger.setShedding(on);
    if (on) for (const f of this.t.table.files()) if (f.state === 'active' && !f.busy && f.readPos >= f.size) this.t.table.closeIdle(f);
  }

  /** After SIGHUP: new inputs, excludes and roots apply from the next rescan. */
  reconfigure(config: Config): void {
    this.env.config = config;
    this.t.discovery.configure(config);
    void this.t.discovery.init();
    this.shed(this.t.reader.shedding);
    void this.t.adopter.rescan();
  }

  files(): FileStatus[] {
    return this.t.table.list().map((f) => ({
      path: f.path,
      input: f.input.name,
      identity: displayIdentity(f.dev, f.ino, f.fp || EMPTY_FP.fp),
      offset: f.committed,
      size: f.size,
      lag: f.lag(),
      state: f.state,
      open: f.fd !== null,
    }));
  }

  lagBytes(): number {
    return this.t.table.lag();
  }

  checkpointHealth(): { ok: boolean; error?: string } {
    return this.t.store.healthy();
  }

  // ---- timers ---------------------------------------------------------------------------------

  private housekeeping(): void {
    if (this.env.stopping) return;
    const { table, lines, rotations, scheduler, ledger } = this.t;
    const now = this.env.mono();
    const t = this.env.config.tail;
    let lag = 0;
    for (const f of table.list()) {
      lag += f.lag();
      if (f.reasm.pendingBytes() > 0 && !f.inCut && now - f.lastActivity >= t.partial_flush_ms) lines.flushPartials(f);
      if (f.state === 'rotated' && !f.busy) rotations.expire(f, now);
      else if (f.state === 'active' && !f.busy && f.fd !== null && f.readPos >= f.size && now - f.lastActivity >= t.idle_close_s * 1000) table.closeIdle(f);
    }
    this.env.metrics.lagBytes.set(lag);
    table.wakeWaiting();
    scheduler.kick();
    ledger.checkpointIfDue(now);
  }
}
