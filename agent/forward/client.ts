// The Forward sender the tail pipeline uses: one connection to the child's in_forward, PackedForward
// chunks with a chunk id each, at-least-once delivery by resending every unacked chunk after an ack
// timeout or a reconnect, except a record the receiver keeps refusing (rejects.ts).
//
// Why not @fluent-org/logger 1.0.10 (the fluent org's client)? scripts/bench-forward-client.ts sends
// 200k docker-like records (~220 B as JSON) through each, PackedForward with acks and EventTime,
// batches of 4096 and 8 in flight, into one `startSink({countOnly: true})` on loopback (2 cores,
// Node 24, best of 3; the sink shares the process, so both rates include its decoding):
//   @fluent-org/logger     ~98k records/s   1.00x
//   warden ForwardClient  ~337k records/s   3.45x
// Speed is the smaller reason. Its `emit()` takes one record and returns one promise per record,
// and the library decides where chunk boundaries fall (next-tick flush, per-tag queues), so a
// caller never sees chunk ids and cannot map an ack to the file offsets it covers; warden commits
// checkpoints per batch it built itself. An ack timeout rejects those promises (resending needs
// its separate retrier, again per record), and its send queue is either unbounded or drops events
// past a limit, where warden wants backpressure (`writable()` / 'drain') with the files as buffer.
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Logger } from '../../core/log.js';
import type { LostReason } from '../health/labels.js';
import type { Metrics } from '../health/metrics.js';

import { parseForwardTo, type ForwardAddress } from './address.js';
import { encodePackedForward, newChunkId, packedEntriesOffset } from './encode.js';
import { ForwardAckTimeoutError, ForwardClosedError, ForwardError, ForwardHandshakeError } from './errors.js';
import { FramePool } from './frame-pool.js';
import { CONNECT_WARN_AFTER, logConnectionEnd, reconnectDelay, STARTING_RETRY_MS, type Backoff } from './reconnect.js';
import { entryTime, halfStrikes, halves, judge, type Verdict } from './rejects.js';
import { MAX_REPLY_BYTES, readReplies } from './replies.js';

export { CONNECT_WARN_AFTER, FramePool, ForwardAckTimeoutError, ForwardClosedError, ForwardHandshakeError, MAX_REPLY_BYTES };

/** Ages and timeouts use the monotonic clock: a wall clock stepped back or forward must neither
 * hide a wedged receiver nor invent one. */
const monotonicMs = (): number => performance.now();

export interface ForwardClientOptions {
  /** tcp://HOST:PORT or unix:///PATH */
  to: string;
  /** Shared key for the HELO/PING/PONG handshake; null = none. */
  sharedKey: string | null;
  /** Sent in PING; must differ from the receiver's own hostname for fluentd. */
  selfHostname: string;
  /** A chunk not acked within this long counts as lost: reconnect and send it again (not while acksHeldBack). */
  ackTimeoutMs: number;
  /** Connecting plus the handshake must finish within this long. */
  connectTimeoutMs: number;
  /** writable() is false while this many chunks are unacked. */
  maxInflight: number;
  logger: Logger;
  metrics?: Metrics;
  /** Delay between connection attempts: min(maxMs, initialMs · 2^(failures-1)), times a 50–100% jitter. */
  reconnect?: Backoff;
  /**
   * A single record the receiver refuses (rejects.ts) this many connections in a row is given up,
   * counted in warden_bytes_lost_total{reason="rejected"}; 0 = never (default 3).
   */
  rejectLimit?: number;
  /**
   * True while the receiver is known to hold its acks back on purpose (its own output cannot
   * deliver and its buffer blocks): chunks on the connection wait past ackTimeoutMs. A resend on a
   * new connection would duplicate every chunk the blocked receiver has already read and will still
   * write once it has room.
   */
  acksHeldBack?: () => boolean;
}

/** Who sent a chunk, in words for the log line of a record given up (the tail names its files and offsets). */
export type ChunkOrigin = () => Record<string, unknown>;

/**
 * The connection's life:
 * - `idle`: before start() → `connecting`.
 * - `connecting`: socket opening → `handshaking` (shared key) | `ready` | `backoff`.
 * - `handshaking`: waiting for HELO, then PONG → `ready` | `backoff`.
 * - `ready`: chunks are written as they come, pending ones were resent → `backoff` on any error or close.
 * - `backoff`: waiting before the next attempt (no wait after a healthy connection) → `connecting`.
 * - `closed`: close() was called; terminal.
 */
type State = 'idle' | 'connecting' | 'handshaking' | 'ready' | 'backoff' | 'closed';

interface Chunk {
  id: string;
  tag: string;
  frame: Uint8Array;
  /** Where the entries lie in `frame` (what a split cuts). */
  entriesAt: number;
  entriesLen: number;
  /** The pooled buffer the frame was written into; back to the pool once acked. */
  store: Buffer | null;
  count: number;
  queuedAt: number;
  /** When it was last written to a socket; null while queued (disconnected). */
  sentAt: number | null;
  /** Its place in the order of writes on the current connection. */
  seq: number;
  sends: number;
  /** See rejects.ts. */
  strikes: number;
  suspect: boolean;
  caller: Caller;
}

/** One send()'s promise: settled once every part of its chunk (two or more after a split) is acked or given up. */
interface Caller {
  parts: number;
  resolve: () => void;
  reject: (err: Error) => void;
  origin: ChunkOrigin | undefined;
}

const NO_ENTRIES = new Uint8Array(0);

export class ForwardClient extends EventEmitter {
  private readonly opts: ForwardClientOptions;
  private readonly addr: ForwardAddress;
  private readonly backoff: Backoff;
  private state: State = 'idle';
  private socket: Socket | null = null;
  /** Unacked chunks in the order they were queued: resends keep that order. */
  private readonly pending = new Map<string, Chunk>();
  private failures = 0;
  private full = false;
  private lastAck: number | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  private readyAt = 0;
  private ackedOnThisConnection = false;
  /** Until then (monotonic ms) the receiver is starting: retries come every STARTING_RETRY_MS at most. */
  private startingUntil = 0;
  /**
   * What stalledMs() adds up since the last ack or the receiver's start: the stretches counted so
   * far, the open one (connected with chunks pending) since `stalledSince`, and the wait since the
   * receiver last held a connection or failed an attempt, `unreachableSince` (null before it ever
   * held one), counted once the attempt after it fails too. `acceptedAt`: when the current
   * connection was accepted.
   */
  private stalledBefore = 0;
  private stalledSince: number | null = null;
  private unreachableSince: number | null = null;
  private acceptedAt = 0;
  private readonly frames: FramePool;
  /** Chunks allowed in flight: maxInflight, or fewer while the budget governor asks (setMaxInflight). */
  private window: number;
  /** Writes on the current connection so far (Chunk.seq), probes included. */
  private writeSeq = 0;
  /** Probes sent on the current connection (chunk id → seq), until acked. */
  private readonly probes = new Map<string, number>();
  /** The lowest seq acked on the current connection. */
  private lowestAcked = Infinity;
  /** Why the last connection attempt or connection ended; null once one got ready. */
  private lastEnd: string | null = null;
  /** A receiver that accepts but runs no handshake was logged (once until a connection gets ready). */
  private warnedNoHelo = false;

  constructor(opts: ForwardClientOptions) {
    super();
    this.opts = opts;
    this.addr = parseForwardTo(opts.to);
    this.backoff = opts.reconnect ?? { initialMs: 200, maxMs: 10_000 };
    this.frames = new FramePool(opts.maxInflight);
    this.window = opts.maxInflight;
  }

  get connected(): boolean {
    return this.state === 'ready';
  }

  /** Why the last connection attempt failed, or the last connection ended; null since one got ready. */
  lastConnectionEnd(): string | null {
    return this.lastEnd;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  /**
   * A new receiver has just been started (a child spawned): the failures of the one before say
   * nothing about it, so the backoff starts over, and so does `stalledMs`. For up to `withinMs`,
   * or until it acks a chunk, attempts that fail — refused, or a connection it closes (a proxy
   * whose upstream is not up yet) — are retried every STARTING_RETRY_MS at most instead of on the
   * growing backoff, so shipping resumes within a fraction of a second of it taking chunks. A
   * wait already scheduled is cut short.
   */
  expectReceiver(withinMs: number): void {
    if (this.state === 'closed') return;
    const now = monotonicMs();
    this.startingUntil = now + withinMs;
    this.failures = 0;
    this.stalledBefore = 0;
    if (this.stalledSince !== null) this.stalledSince = now;
    this.unreachableSince = null;
    if (this.state === 'backoff' && this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.scheduleRetry(STARTING_RETRY_MS);
    }
  }

  /**
   * Stop. With `drainMs`, first wait up to that long for pending chunks to be acked. Whatever is
   * still pending then rejects with ForwardClosedError.
   */
  async close(opts: { drainMs?: number } = {}): Promise<void> {
    if (this.state === 'closed') return;
    if (opts.drainMs && this.pending.size > 0 && this.state !== 'idle') {
      await new Promise<void>((resolve) => {
        const onAck = () => {
          if (this.pending.size === 0) finish();
        };
        const finish = () => {
          clearTimeout(timer);
          this.off('ack', onAck);
          resolve();
        };
        const timer = setTimeout(finish, opts.drainMs);
        this.on('ack', onAck);
      });
      if ((this.state as State) === 'closed') return;
    }
    this.state = 'closed';
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.removeAllListeners('close');
      socket.destroy();
    }
    const err = new ForwardClosedError(`Forward client to ${this.opts.to} closed with ${this.pending.size} chunk(s) unacked`);
    for (const c of this.pending.values()) c.caller.reject(err);
    this.pending.clear();
    this.opts.metrics?.forwardConnected.set(0);
    this.opts.metrics?.forwardInflight.set(0);
  }

  /**
   * Send one PackedForward chunk (`entries` = concatenated encodeEntry() outputs). Resolves when
   * the receiver acked it. Queued while disconnected; sent again, with the same chunk id, after
   * an ack timeout or a reconnect (at least once). A chunk the receiver refuses is sent again in
   * halves, and a single record it keeps refusing is given up (rejects.ts); the promise then
   * resolves once every other record of the chunk was acked, and `origin` names the chunk's
   * source in the log line of what was given up.
   */
  send(tag: string, entries: Uint8Array, count: number, origin?: ChunkOrigin): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new ForwardClosedError(`Forward client to ${this.opts.to} is closed`));
    return new Promise<void>((resolve, reject) => {
      const id = newChunkId();
      let store: Buffer | null = null;
      const frame = encodePackedForward(tag, entries, count, id, (size) => (store = this.frames.take(size)));
      const caller: Caller = { parts: 1, resolve, reject, origin };
      const chunk = newChunk(id, tag, frame, entries.byteLength, count, caller);
      chunk.store = store;
      this.pending.set(id, chunk);
      if (this.pending.size >= this.window) this.full = true;
      this.opts.metrics?.forwardInflight.set(this.pending.size);
      if (this.state === 'ready' && this.socket) this.write(this.socket, chunk);
      this.markStalled(chunk.queuedAt);
    });
  }

  writable(): boolean {
    return this.state !== 'closed' && this.pending.size < this.window;
  }

  /**
   * Fewer chunks in flight (at least 1; null = maxInflight again), so the receiver buffers less
   * under memory pressure and the files stay the buffer. Chunks already sent are not recalled:
   * the window closes as they are acked.
   */
  setMaxInflight(chunks: number | null): void {
    const next = chunks === null ? this.opts.maxInflight : Math.max(1, Math.min(this.opts.maxInflight, Math.floor(chunks)));
    const opened = next > this.window;
    this.window = next;
    if (this.pending.size >= next) this.full = true;
    else if (opened && this.full) {
      this.full = false;
      this.emit('drain');
    }
  }

  inflight(): number {
    return this.pending.size;
  }

  /** Wall-clock time of the last ack, for display only (it jumps with the clock). */
  lastAckAt(): number | null {
    return this.lastAck === null ? null : Date.now() - (monotonicMs() - this.lastAck);
  }

  /** Milliseconds since the last ack, on the monotonic clock; null before the first. */
  sinceLastAckMs(): number | null {
    return this.lastAck === null ? null : monotonicMs() - this.lastAck;
  }

  /** Age of the oldest chunk not yet acked, on the monotonic clock; null when nothing is pending. */
  oldestPendingMs(): number | null {
    for (const c of this.pending.values()) return monotonicMs() - c.queuedAt;
    return null;
  }

  /**
   * How long the receiver has let chunks wait without an ack, since the last ack or its start
   * (expectReceiver), on the monotonic clock: the time it held a connection of warden's
   * (accepted: in the handshake or ready) with chunks pending, plus each wait between attempts
   * whose next attempt failed too — refused, or a connection closed without an ack: the receiver
   * was of no use at both ends of it. A wait that ends in a connection that is still open, or
   * that acks, is warden's backoff, not the receiver's doing, and is not counted: a child that
   * closed its first connection and acks on the next is not hung for how long warden waited in
   * between. Not counted either: time before the receiver first held a connection (the child's
   * ready timeout judges that) and time with nothing pending.
   */
  stalledMs(): number {
    return this.stalledBefore + (this.stalledSince === null ? 0 : monotonicMs() - this.stalledSince);
  }

  /** Opens the stretch counted by stalledMs when connected with chunks pending, closes it otherwise. */
  private markStalled(now: number): void {
    const stalled = (this.state === 'ready' || this.state === 'handshaking') && this.pending.size > 0;
    if (stalled && this.stalledSince === null) this.stalledSince = now;
    else if (!stalled && this.stalledSince !== null) {
      this.stalledBefore += now - this.stalledSince;
      this.stalledSince = null;
    }
  }

  /**
   * A connection ended (`held`: it had been accepted) or an attempt failed, at `now`: the wait
   * before it is counted (an ack on the connection has cleared it already), and the next starts.
   */
  private markUnreachable(held: boolean, now: number): void {
    if (this.unreachableSince === null) {
      if (held) this.unreachableSince = now;
      return;
    }
    const waitEnd = held ? this.acceptedAt : now;
    if (this.pending.size > 0) this.stalledBefore += Math.max(0, waitEnd - this.unreachableSince);
    this.unreachableSince = now;
  }

  // ---- connection ---------------------------------------------------------------------------

  private connect(): void {
    this.state = 'connecting';
    const socket = this.addr.kind === 'tcp' ? connect({ host: this.addr.host, port: this.addr.port }) : connect({ path: this.addr.path });
    socket.setNoDelay(true);
    // Finds a silently vanished peer while nothing is pending (then no ack timeout runs).
    socket.setKeepAlive(true, 30_000);
    this.socket = socket;
    let failure: Error | undefined;
    socket.on('error', (err) => {
      failure ??= err;
    });
    socket.once('close', () => this.onClose(socket, failure));
    this.connectTimer = setTimeout(() => {
      socket.destroy(new Error(this.state === 'handshaking' ? this.noHelo() : `Forward connect to ${this.opts.to}: no ready connection within ${this.opts.connectTimeoutMs} ms`));
    }, this.opts.connectTimeoutMs);
    socket.once('connect', () => {
      if (this.opts.sharedKey === null) this.onReady(socket);
      else {
        this.state = 'handshaking';
        this.acceptedAt = monotonicMs();
        this.markStalled(this.acceptedAt);
      }
      this.readLoop(socket).catch((err: Error) => {
        // Leaving the for-await early has already destroyed the socket (without an error), so
        // the reason is kept here for the 'close' handler.
        failure ??= err;
        socket.destroy();
      });
    });
  }

  /**
   * The receiver took the connection and sent no HELO: it runs no Forward handshake, while warden
   * has a shared key. Logged once (a config error, not a slow start), and named as the reason the
   * child is not ready.
   */
  private noHelo(): string {
    const msg = `Forward receiver ${this.opts.to} accepted the connection but sent no HELO within ${this.opts.connectTimeoutMs} ms: warden authenticates with a shared key (forward.shared_key) and the receiver runs no handshake; give its in_forward a <security> section with shared_key "#{ENV['WARDEN_FORWARD_SHARED_KEY']}", or set forward.shared_key: none`;
    if (!this.warnedNoHelo) {
      this.warnedNoHelo = true;
      this.opts.logger.warn({ to: this.opts.to, connect_timeout_ms: this.opts.connectTimeoutMs }, msg);
    }
    return msg;
  }

  /** Reads HELO / PONG / acks until the socket ends or a reply is wrong. */
  private readLoop(socket: Socket): Promise<void> {
    const { to, sharedKey, selfHostname } = this.opts;
    return readReplies(socket, { to, sharedKey, selfHostname }, {
      current: () => socket === this.socket,
      ready: () => this.onReady(socket),
      ack: (id) => this.onAck(id),
    });
  }

  private onReady(socket: Socket): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const wasHandshaking = this.state === 'handshaking';
    this.state = 'ready';
    this.lastEnd = null;
    this.warnedNoHelo = false;
    this.readyAt = monotonicMs();
    if (!wasHandshaking) this.acceptedAt = this.readyAt;
    this.ackedOnThisConnection = false;
    this.writeSeq = 0;
    this.probes.clear();
    this.lowestAcked = Infinity;
    this.markStalled(this.readyAt);
    this.opts.metrics?.forwardConnected.set(1);
    this.opts.logger.info({ to: this.opts.to, resend: this.pending.size }, 'Forward connection ready');
    let suspect: Chunk | undefined;
    for (const c of this.pending.values()) if (c.suspect) suspect ??= c;
    if (suspect) this.writeProbe(socket, suspect.tag);
    for (const c of this.pending.values()) this.write(socket, c);
    const every = Math.min(1000, Math.max(10, Math.floor(this.opts.ackTimeoutMs / 4)));
    this.ackTimer = setInterval(() => this.checkAckTimeout(socket), every);
    this.emit('connected');
  }

  private write(socket: Socket, c: Chunk): void {
    c.sentAt = monotonicMs();
    c.seq = ++this.writeSeq;
    c.sends++;
    this.opts.metrics?.recordsSent.inc(c.count);
    if (c.sends > 1) this.opts.metrics?.chunksResent.inc();
    else this.opts.metrics?.chunksSent.inc();
    this.corkedWrite(socket, c.frame);
  }

  /** An empty chunk ahead of a suspect one: an ack for it shows the receiver reads this connection (rejects.ts). */
  private writeProbe(socket: Socket, tag: string): void {
    const id = newChunkId();
    this.probes.set(id, ++this.writeSeq);
    this.corkedWrite(socket, encodePackedForward(tag, NO_ENTRIES, 0, id, Buffer.alloc));
  }

  private corkedWrite(socket: Socket, frame: Uint8Array): void {
    // Chunks written in one turn of the event loop (the batches of one flush tick, a resend
    // after reconnect) leave in one writev, not a syscall each.
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(frame);
  }

  private onAck(id: string): void {
    const probe = this.probes.get(id);
    if (probe !== undefined) {
      this.probes.delete(id);
      this.lowestAcked = Math.min(this.lowestAcked, probe);
      return;
    }
    const c = this.pending.get(id);
    // An ack for a chunk we no longer hold: a late answer to a resent chunk. Harmless.
    if (!c) return;
    this.lowestAcked = Math.min(this.lowestAcked, c.seq);
    this.pending.delete(id);
    // The receiver has every byte of the frame, so no socket write still reads it.
    if (c.store) this.frames.give(c.store);
    c.store = null;
    const now = monotonicMs();
    const latencyMs = now - (c.sentAt ?? c.queuedAt);
    this.lastAck = now;
    this.failures = 0;
    this.startingUntil = 0;
    this.ackedOnThisConnection = true;
    // An ack ends the stretch without one; chunks still pending start the next.
    this.stalledBefore = 0;
    this.stalledSince = null;
    this.unreachableSince = null;
    this.markStalled(now);
    this.opts.metrics?.recordsAcked.inc(c.count);
    this.opts.metrics?.ackLatency.observe(latencyMs / 1000);
    this.opts.metrics?.forwardInflight.set(this.pending.size);
    this.settlePart(c);
    this.emit('ack', latencyMs, c.count);
    this.drainIfRoom();
  }

  private settlePart(c: Chunk): void {
    if (--c.caller.parts === 0) c.caller.resolve();
  }

  private drainIfRoom(): void {
    if (this.full && this.pending.size < this.window) {
      this.full = false;
      this.emit('drain');
    }
  }

  private checkAckTimeout(socket: Socket): void {
    if (this.opts.acksHeldBack?.()) return;
    const limit = monotonicMs() - this.opts.ackTimeoutMs;
    for (const c of this.pending.values()) {
      if (c.sentAt !== null && c.sentAt <= limit) {
        socket.destroy(new ForwardAckTimeoutError(`Forward receiver ${this.opts.to}: chunk ${c.id} (${c.count} records) not acked within ${this.opts.ackTimeoutMs} ms`));
        return;
      }
    }
  }

  private onClose(socket: Socket, err: Error | undefined): void {
    if (socket !== this.socket || this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    const held = wasReady || this.state === 'handshaking';
    this.state = 'backoff';
    const now = monotonicMs();
    this.markStalled(now);
    this.markUnreachable(held, now);
    this.socket = null;
    this.clearTimers();
    const verdict = wasReady ? this.judgeEnd(err) : null;
    for (const c of this.pending.values()) c.sentAt = null;
    this.opts.metrics?.forwardConnected.set(0);
    // A connection that carried acks, or stayed up a while, was healthy: reconnect at once.
    // Otherwise back off, so a refusing or flapping receiver is not hammered. A refused chunk
    // split or given up is progress; the same record refused again is not.
    const progress = verdict === 'split' || verdict === 'give_up';
    const healthy = progress || (wasReady && verdict !== 'again' && (this.ackedOnThisConnection || monotonicMs() - this.readyAt >= this.backoff.maxMs));
    this.failures = healthy ? 0 : this.failures + 1;
    const backoff = reconnectDelay(this.failures, this.backoff);
    const starting = monotonicMs() < this.startingUntil;
    const delay = starting ? Math.min(backoff, STARTING_RETRY_MS) : backoff;
    const reason = err?.message ?? 'connection closed by the receiver';
    this.lastEnd = reason;
    logConnectionEnd(this.opts.logger, { wasReady, failures: this.failures, starting, fields: { to: this.opts.to, err: reason, retryInMs: delay, pending: this.pending.size } });
    if (wasReady) this.emit('disconnected', err);
    this.scheduleRetry(delay);
  }

  /**
   * The receiver ended a ready connection: judge the first chunk it left unacked (rejects.ts) and
   * split it or give it up when that is the verdict. Not for an end warden caused itself (an ack
   * timeout, a reply it refused): those say nothing about a chunk.
   */
  private judgeEnd(err: Error | undefined): Verdict | null {
    if (err instanceof ForwardError) return null;
    let first: Chunk | null = null;
    for (const c of this.pending.values()) if (c.sentAt !== null && (first === null || c.seq < first.seq)) first = c;
    if (!first) return null;
    const verdict = judge(first, this.lowestAcked < first.seq, this.opts.rejectLimit ?? 3);
    if (verdict === 'split') this.split(first);
    else if (verdict === 'give_up') this.giveUp(first);
    return verdict;
  }

  /** Replace `c` by its two halves, in its place in the resend order. */
  private split(c: Chunk): void {
    const entries = c.frame.subarray(c.entriesAt, c.entriesAt + c.entriesLen);
    const [a, b, n] = halves(entries, c.count);
    const parts = [a, b].map((e, i) => {
      const id = newChunkId();
      const part = newChunk(id, c.tag, encodePackedForward(c.tag, e, i === 0 ? n : c.count - n, id), e.byteLength, i === 0 ? n : c.count - n, c.caller);
      part.queuedAt = c.queuedAt;
      part.sends = c.sends;
      part.suspect = true;
      part.strikes = halfStrikes(part.count);
      return part;
    });
    c.caller.parts++;
    const order = [...this.pending.values()];
    this.pending.clear();
    for (const x of order) {
      if (x !== c) this.pending.set(x.id, x);
      else for (const part of parts) this.pending.set(part.id, part);
    }
    if (c.store) this.frames.give(c.store);
    c.store = null;
    if (this.pending.size >= this.window) this.full = true;
    this.opts.metrics?.forwardInflight.set(this.pending.size);
    this.opts.logger.info(
      { to: this.opts.to, tag: c.tag, chunk: c.id, records: c.count, strikes: c.strikes, halves: parts.map((p) => p.count) },
      'Forward receiver closed the connection on this chunk, right after acking what came before it, connections in a row; sending it again in halves',
    );
  }

  /** A single record refused rejectLimit connections in a row: given up, counted and named, so the files go on. */
  private giveUp(c: Chunk): void {
    this.pending.delete(c.id);
    const entries = c.frame.subarray(c.entriesAt, c.entriesAt + c.entriesLen);
    const fields = {
      to: this.opts.to,
      tag: c.tag,
      chunk: c.id,
      records: c.count,
      bytes: c.entriesLen,
      record_time: entryTime(entries),
      strikes: c.strikes,
      ...c.caller.origin?.(),
    };
    if (c.store) this.frames.give(c.store);
    c.store = null;
    this.opts.metrics?.bytesLost.inc({ reason: 'rejected' satisfies LostReason }, c.entriesLen);
    this.opts.metrics?.forwardInflight.set(this.pending.size);
    this.opts.logger.warn(fields, `Forward receiver refused a record ${c.strikes} connections in a row (it closed the connection on it each time); given up`);
    this.settlePart(c);
    this.drainIfRoom();
  }

  private scheduleRetry(delay: number): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state === 'backoff') this.connect();
    }, delay);
  }

  private clearTimers(): void {
    for (const t of [this.retryTimer, this.connectTimer]) if (t) clearTimeout(t);
    if (this.ackTimer) clearInterval(this.ackTimer);
    this.retryTimer = this.connectTimer = this.ackTimer = null;
  }
}

function newChunk(id: string, tag: string, frame: Uint8Array, entriesLen: number, count: number, caller: Caller): Chunk {
  return {
    id,
    tag,
    frame,
    entriesAt: packedEntriesOffset(tag, entriesLen),
    entriesLen,
    store: null,
    count,
    queuedAt: monotonicMs(),
    sentAt: null,
    seq: 0,
    sends: 0,
    strikes: 0,
    suspect: false,
    caller,
  };
}
