// The tail pipeline: discovery → per-file reader → parse → reassembly → record → per-tag batch →
// ChunkSender, and back: ack → segment settled → checkpoint. The files are the buffer: reading
// stops while the sender is not writable, so memory is bounded by the in-flight window and the
// open batches, never by how far behind reading is.
//
// At least once: a file's checkpoint moves only over segments whose batches were all acked, in
// file order (acks may arrive out of order across chunks). Text still in the Reassembler or in an
// unterminated line is never committed.
import { closeSync, fstat, fstatSync, promises as fsp, read } from 'node:fs';
import { basename, dirname } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../config/schema.js';
import type { TailControl } from '../../core/contracts.js';
import type { Logger } from '../../core/log.js';
import type { EntryBuffer } from '../forward/protocol.js';
import type { Metrics } from '../health/metrics.js';
import { parseCri, parseCriBytes } from '../parse/cri.js';
import { detectFormat } from '../parse/detect.js';
import type { LineBytes } from '../parse/bytes.js';
import { parseDocker, parseDockerBytes } from '../parse/docker.js';
import { dockerContainerId, k8sMetaFromContainersName, k8sMetaFromPath, type K8sMeta } from '../parse/kubernetes.js';
import { parseHostLine, parsePlain } from '../parse/plain.js';
import { packMeta, writeLineBytesEntry, writeRecordEntry, type PackedMeta } from '../forward/record.js';
import { tagFor } from '../parse/tag.js';
import type { Assembled, Fragment } from '../parse/types.js';
import { Batcher, type Batch } from './batch.js';
import { CheckpointStore, type CheckpointEntry } from './checkpoint.js';
import { Discovery, type Candidate } from './discovery.js';
import { TailedFile, type Format, type ResumePlan, type Segment } from './file.js';
import { FP_BYTES, type TailMark, displayIdentity, fingerprintFd, fingerprintMatches, fingerprintOf, inodeKey, tailMatches, tailOf } from './identity.js';
import { LossReporter } from './lost.js';
import { DirInodes, isRotationOf, type Listed } from './rotations.js';
import { nulRun, splitLines, zeroPrefix } from './reader.js';

const readAsync = promisify(read);
const fstatAsync = promisify(fstat);

/** What the pipeline needs from the Forward client (agent/forward/client.ts ForwardClient fits). */
export interface ChunkSender {
  /**
   * Resolves when the receiver acked the chunk; rejects only when the sender was closed first.
   * `entries` is valid only during the call (the pipeline reuses its buffer): copy what is kept.
   */
  send(tag: string, entries: Uint8Array, count: number): Promise<void>;
  writable(): boolean;
  on(ev: 'drain', fn: () => void): unknown;
  /** When present, stop() takes its 'drain' listener off again (one sender may outlive pipelines). */
  off?(ev: 'drain', fn: () => void): unknown;
}

export interface TailPipelineOptions {
  config: Config;
  sender: ChunkSender;
  logger: Logger;
  metrics: Metrics;
  host: string;
  now?: () => number;
}

export interface FileStatus {
  path: string;
  input: string;
  identity: string;
  offset: number;
  size: number;
  lag: number;
  state: string;
}

/** How long a rotated file must sit at EOF before it counts as finished (late writes by the runtime land in it). */
const ROTATED_SETTLE_MS = 1000;
const STOP_WAIT_MS = 5000;
/** Drained rotated files remembered at most (oldest dropped first: at worst one is read again). */
const DRAINED_MAX = 10_000;
/** Truncated generations remembered per file (logrotate keeps a few copies: `rotate 4`). */
const COPIES_KEPT = 4;
/** chokidar's change throttle (50 ms) plus a margin for the event's own delivery. */
const RECHECK_MS = 75;
const EMPTY_FP = fingerprintOf(new Uint8Array(0));
/** Block sizes and per-call bound of a scan over NULs (zerosEnd). */
const ZERO_SCAN_FIRST = 1024 * 1024;
const ZERO_SCAN_BIG = 16 * 1024 * 1024;
const ZERO_SCAN_MAX = 2 * 1024 ** 3;

const parsers: Record<Format, (line: string, sec: number, nsec: number) => Fragment> = {
  docker: parseDocker,
  cri: parseCri,
  plain: parseHostLine,
};

export class TailPipeline implements TailControl {
  private config: Config;
  private readonly sender: ChunkSender;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly host: string;
  private readonly now: () => number;
  private readonly discovery: Discovery;
  private readonly store: CheckpointStore;
  private readonly batcher: Batcher;

  private readonly byKey = new Map<string, TailedFile>();
  private readonly byPath = new Map<string, TailedFile>();
  private readonly ready = new Set<TailedFile>();
  private readonly waiting = new Set<TailedFile>();
  private saved = new Map<string, CheckpointEntry>();
  private firstStart = false;
  private openCount = 0;
  private inflight = new Set<Promise<void>>();

  private started = false;
  private stopping = false;
  private paused = false;
  private shedding = false;
  private pumping: Promise<void> | null = null;
  private scanning: Promise<void> | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  private houseTimer: NodeJS.Timeout | null = null;
  private rateTimer: NodeJS.Timeout | null = null;
  private rate: number | null = null;
  private tokens = 0;
  private tokensAt = 0;
  private checkpointDirty = false;
  private lastCheckpoint = 0;
  private loggedWaiting = false;
  /** `dev:ino\0errno` of open() failures already warned about (once per file and errno until it opens again). */
  private readonly warnedOpen = new Set<string>();
  private buf: Buffer = Buffer.alloc(0);
  private readonly metaCache = new WeakMap<TailedFile, PackedMeta>();
  /** Files whose first unparseable line was logged (later ones are only counted). */
  private readonly warnedParse = new WeakSet<TailedFile>();
  /** Files in state `rotated`, oldest first (for tail.rotated_max_files). */
  private readonly rotatedFiles = new Set<TailedFile>();
  /**
   * Rotated files read to their end (or given up) and forgotten, by `dev:ino`, with the size they
   * had then: kept in the checkpoint while they exist, so that neither a rescan's look at rotated
   * siblings nor a restart reads them again. Dropped when a listing of their directory lacks them.
   */
  private readonly drained = new Map<string, { entry: CheckpointEntry; size: number; dir: string }>();
  /**
   * Generations of a file truncated in place (copytruncate), by the file's `dev:ino`: what was read
   * of each. Their copy (`x.log.1`, a new inode) is a sibling holding lines already shipped.
   */
  private readonly copied = new Map<string, ResumePlan[]>();
  private readonly losses: LossReporter;
  /** Files whose first skipped NUL run was logged. */
  private readonly warnedNul = new WeakSet<TailedFile>();
  /** Scratch for the byte parsers: filled and used within one line. */
  private readonly lineBytes: LineBytes = { start: 0, end: 0, length: 0, stream: 'stdout', sec: 0, nsec: 0 };
  private readonly onDrain = () => this.kick();

  constructor(opts: TailPipelineOptions) {
    this.config = opts.config;
    this.sender = opts.sender;
    this.logger = opts.logger;
    this.metrics = opts.metrics;
    this.host = opts.host;
    this.now = opts.now ?? Date.now;
    this.discovery = new Discovery(opts.config, opts.logger, opts.metrics);
    this.store = new CheckpointStore(opts.config.state_dir, opts.logger, opts.metrics, this.now);
    this.losses = new LossReporter(opts.logger, opts.metrics, this.now);
    const fwd = opts.config.forward;
    this.batcher = new Batcher(fwd.batch_max_records, fwd.batch_max_bytes, fwd.flush_interval_ms, (b) => this.sendBatch(b));
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.discovery.init();
    const loaded = await this.store.load();
    this.firstStart = !loaded.existed;
    for (const e of loaded.entries) this.saved.set(inodeKey(e.dev, e.ino), e);
    for (const c of await this.discovery.scan()) this.adopt(c, true);
    await this.recoverRotated();
    await this.readSiblings(new DirInodes());
    this.saved.clear();
    this.checkpointDirty = true;
    this.sender.on('drain', this.onDrain);
    this.discovery.startWatching((ev, p) => this.onPathEvent(ev, p));
    this.rescanTimer = setInterval(() => void this.rescan(), this.config.tail.rescan_interval_ms);
    const t = this.config.tail;
    // Batches flush on their own timers (Batcher); this tick serves partials, rotated and idle
    // files and the checkpoint, and walks every file, so it runs no more often than those need.
    const houseMs = Math.max(10, Math.min(250, t.partial_flush_ms, t.checkpoint_interval_ms));
    this.houseTimer = setInterval(() => this.housekeeping(), houseMs);
    this.kick();
  }

  /** Stop reading, send open batches, wait (bounded) for acks, write the final checkpoint, close fds. */
  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    for (const t of [this.rescanTimer, this.houseTimer, this.rateTimer]) if (t) clearInterval(t);
    for (const f of this.byKey.values()) if (f.recheck) clearTimeout(f.recheck);
    this.sender.off?.('drain', this.onDrain);
    await this.discovery.close();
    await this.pumping;
    await this.scanning;
    const deadline = Date.now() + STOP_WAIT_MS;
    await this.drainDeleted(deadline);
    for (const b of this.batcher.due(this.now(), 0)) this.sendBatch(b);
    if (this.inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
    }
    await this.noteCopies(new DirInodes()).catch(() => undefined);
    await this.store.write(this.entries());
    this.losses.flush();
    for (const f of this.byKey.values()) this.closeFd(f);
    this.metrics.openFiles.set(0);
    this.metrics.waitingFiles.set(0);
  }

  /**
   * Files deleted while open (a docker shift renames `.1` over `.2`; kubelet gzips and removes
   * `0.log.<ts>`; a plain rm) live only in our descriptor: a restart cannot recover them from the
   * checkpoint. Read them to EOF and finish them (their unterminated last line is final), within
   * the stop bound; what cannot be read in time is given up, counted and logged. Rotated files still
   * linked are left as they are: the next start finds them by inode and resumes from the checkpoint,
   * so a late write by the runtime still joins their last line.
   */
  private async drainDeleted(deadline: number): Promise<void> {
    for (const f of [...this.byKey.values()]) {
      if ((f.state !== 'rotated' && f.state !== 'active') || f.fd === null) continue;
      const st = await fstatAsync(f.fd).catch(() => null);
      if (!st || st.nlink > 0) continue;
      // Deleted before a read at EOF or a rescan noticed it.
      if (f.state === 'active') {
        for (const [p, g] of this.byPath) if (g === f) this.byPath.delete(p);
        this.markRotated(f, 'deleted');
      }
      f.size = Math.max(f.size, st.size);
      // EOF is confirmed by a read at stop time, not by an older one (the runtime may have written since).
      f.eofSince = null;
      while (f.state === 'rotated' && f.eofSince === null && Date.now() < deadline) {
        if (!this.sender.writable()) {
          for (const b of this.batcher.due(this.now(), 0)) this.sendBatch(b);
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        f.busy = true;
        try {
          await this.step(f);
        } catch (err) {
          this.logger.warn({ path: f.path, real_path: f.realPath, err: String(err) }, 'read of a deleted file failed while stopping');
          break;
        } finally {
          f.busy = false;
        }
      }
      if (f.state !== 'rotated') continue;
      if (f.eofSince !== null && f.readPos >= f.size) this.finish(f);
      else this.giveUp(f, 'deleted_at_stop');
    }
  }

  /** The child is not ready: stop reading (state kept). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  setRateLimit(bytesPerSec: number | null): void {
    this.rate = bytesPerSec !== null && bytesPerSec > 0 ? bytesPerSec : null;
    this.tokens = 0;
    this.tokensAt = this.now();
    this.kick();
  }

  /** Shed memory: smaller batches and reads, and close every file that is at EOF now. */
  shed(on: boolean): void {
    this.shedding = on;
    const fwd = this.config.forward;
    if (on) this.batcher.setLimits(Math.max(1, fwd.batch_max_records >> 2), Math.max(1024, fwd.batch_max_bytes >> 2), fwd.flush_interval_ms);
    else this.batcher.setLimits(fwd.batch_max_records, fwd.batch_max_bytes, fwd.flush_interval_ms);
    if (on) for (const f of this.byKey.values()) if (f.state === 'active' && !f.busy && f.readPos >= f.size) this.closeIdle(f);
  }

  /** After SIGHUP: new inputs, excludes and roots apply from the next rescan. */
  reconfigure(config: Config): void {
    this.config = config;
    this.discovery.configure(config);
    void this.discovery.init();
    this.shed(this.shedding);
    void this.rescan();
  }

  files(): FileStatus[] {
    return [...this.byKey.values()].map((f) => ({
      path: f.path,
      input: f.input.name,
      identity: displayIdentity(f.dev, f.ino, f.fp || EMPTY_FP.fp),
      offset: f.committed,
      size: f.size,
      lag: f.lag(),
      state: f.state,
    }));
  }

  lagBytes(): number {
    let n = 0;
    for (const f of this.byKey.values()) n += f.lag();
    return n;
  }

  checkpointHealth(): { ok: boolean; error?: string } {
    return this.store.healthy();
  }

  // ---- discovery ------------------------------------------------------------------------------

  private adopt(c: Candidate, initial: boolean): void {
    const key = inodeKey(c.dev, c.ino);
    const known = this.byKey.get(key);
    const prev = this.byPath.get(c.path);
    if (prev && prev !== known) this.rotated(prev);
    if (known) {
      if (known.state === 'done') return;
      if (known.state === 'rotated') {
        if (known.openError !== null) this.wantRead(known);
        return;
      }
      if (known.fd === null && !known.busy && prev !== known) {
        this.regenerate(known, c);
        return;
      }
      this.byPath.set(c.path, known);
      // A reused classification's size is from an earlier scan: only a full rescan's says "grew".
      if (c.reused) {
        if (known.openError !== null) this.wantRead(known);
        return;
      }
      if (c.size > known.size) known.size = c.size;
      if (c.size !== known.readPos || known.openError !== null) this.wantRead(known);
      else if (known.fd === null && known.birth !== null) void this.checkBirth(known, c.realPath);
      return;
    }
    const saved = this.saved.get(key);
    let plan: ResumePlan;
    if (saved) {
      this.saved.delete(key);
      const tail = saved.tail_hash !== undefined ? { at: saved.tail_at!, len: saved.tail_len!, hash: saved.tail_hash } : undefined;
      plan = { offset: saved.offset, fp: saved.fp, fpLen: saved.fp_len, tail };
    } else if (initial && this.firstStart && this.config.tail.read_from === 'end') plan = { offset: c.size };
    else plan = { offset: 0 };
    this.track(c, plan);
  }

  /**
   * A closed file at its size: deleted and re-created under its name with its inode reused (and as
   * many bytes) looks unchanged to a scan. Its birth time tells; a new one gets it reopened, and
   * ensureOpen reads the new generation from 0.
   */
  private async checkBirth(f: TailedFile, path: string): Promise<void> {
    const st = await fsp.stat(path).catch(() => null);
    if (st && st.ino === f.ino && st.dev === f.dev && st.birthtimeMs > 0 && st.birthtimeMs !== f.birth) this.wantRead(f);
  }

  private track(c: Candidate, plan: ResumePlan): void {
    const f = this.makeFile(c, plan);
    this.byPath.set(c.path, f);
    if (c.realPath !== c.path) {
      this.byPath.set(c.realPath, f);
      this.discovery.watchTargetDir(c.realPath);
    }
    this.wantRead(f);
  }

  /**
   * A closed file's dev:ino turned up at a path that named another file or nothing: a rename while
   * it was closed, or its inode freed (deleted while closed) and reused by a new file (ext4 and
   * tmpfs reuse them at once: with 5,000 files deleted and re-created, most new files got an old
   * inode, and were taken for the old ones already read). It starts over as a file with a start
   * plan from where the old one stood, verified when it is opened (ensureOpen): the same content
   * resumes there, a new generation is read from 0.
   */
  private regenerate(known: TailedFile, c: Candidate): void {
    const plan: ResumePlan = known.resume ?? { offset: known.committed, fp: known.fp, fpLen: known.fpLen, tail: known.tailCommitted ?? undefined };
    this.forget(known);
    this.track(c, plan);
  }

  private makeFile(c: Candidate, plan: { offset: number; fp?: string; fpLen?: number }): TailedFile {
    const containers = c.path === c.realPath ? null : k8sMetaFromContainersName(c.path);
    let k8s: K8sMeta | null = k8sMetaFromPath(c.realPath);
    if (!k8s && containers) k8s = { namespace_name: containers.namespace_name, pod_name: containers.pod_name, pod_uid: '', container_name: containers.container_name };
    const dockerId = dockerContainerId(c.realPath) ?? dockerContainerId(c.path);
    const meta = { k8s, dockerId, tag: tagFor({ k8s, dockerId }, c.path) };
    const key = inodeKey(c.dev, c.ino);
    const f = new TailedFile(key, c.dev, c.ino, '', -1, c.path, c.realPath, c.input, meta, this.config.tail.max_line_bytes, this.now());
    f.size = c.size;
    f.resume = plan;
    f.committed = f.lineEnd = plan.offset;
    this.byKey.set(key, f);
    this.metrics.watchedFiles.set(this.byKey.size);
    return f;
  }

  /** Checkpointed files no longer at a matching path: rotated while warden was down. Drain them. */
  private async recoverRotated(): Promise<void> {
    const where = new DirInodes();
    for (const [key, e] of this.saved) {
      if (this.byKey.has(key)) continue;
      // A checkpoint is data, not authority: its paths are checked like discovered ones.
      const c = await this.discovery.recovered(e, where);
      if (!c) continue;
      const f = this.makeFile(c, { offset: e.offset, fp: e.fp, fpLen: e.fp_len });
      this.markRotated(f, 'recovered');
    }
  }

  private onPathEvent(ev: string, path: string): void {
    if (this.stopping) return;
    const f = this.byPath.get(path);
    if (ev === 'change' && f && f.state !== 'rotated') {
      this.wantRead(f);
      this.armRecheck(f);
      return;
    }
    void this.discovery.check(path).then((c) => {
      if (c && !this.stopping) this.adopt(c, false);
    });
    if (f) this.wantRead(f);
  }

  /**
   * chokidar drops a `change` that comes within 50 ms of the last one it emitted for the path and
   * sends none later, so the last write of a burst could wait for the rescan. One more read
   * RECHECK_MS after the latest change event covers that window (a timer per active file, re-armed
   * by each event; quiet files have none).
   */
  private armRecheck(f: TailedFile): void {
    if (f.recheck) {
      f.recheck.refresh();
      return;
    }
    f.recheck = setTimeout(() => {
      f.recheck = null;
      if (!this.stopping) this.wantRead(f);
    }, RECHECK_MS);
    f.recheck.unref();
  }

  private rescan(): Promise<void> {
    if (this.scanning || this.stopping) return this.scanning ?? Promise.resolve();
    this.scanning = (async () => {
      try {
        const seen = new Set<string>();
        const where = new DirInodes();
        for (const c of await this.discovery.scan()) {
          if (this.stopping) return;
          seen.add(inodeKey(c.dev, c.ino));
          this.adopt(c, false);
        }
        for (const f of [...this.byKey.values()]) {
          // Rotated files that could not be opened are retried here, not on every housekeeping tick.
          if (f.state === 'rotated' && f.openError !== null) this.wantRead(f);
          if (seen.has(f.key) || f.state === 'rotated' || f.state === 'done') continue;
          // A directory that cannot be listed hides its files; that is not a rotation or a deletion.
          if (this.discovery.hidden(f.path) || this.discovery.hidden(f.realPath)) continue;
          if (f.fd !== null) {
            this.rotated(f);
            continue;
          }
          // Closed while idle, or never opened yet (adopted while reading was paused, e.g. while the
          // child was down): find where it went, or forget it. A file never opened still carries
          // its start plan (f.resume), which is verified against its fingerprint when it is opened.
          const found = await this.discovery.findByInode(dirname(f.realPath), f.dev, f.ino, where);
          if (found) {
            f.realPath = found;
            for (const [p, g] of this.byPath) if (g === f) this.byPath.delete(p);
            this.markRotated(f, 'rename');
          } else this.gone(f);
        }
        if (!this.stopping) await this.readSiblings(where);
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'rescan failed');
      } finally {
        this.scanning = null;
      }
    })();
    return this.scanning;
  }

  /**
   * Rotated siblings of every tailed file (`0.log.<ts>` beside `0.log`, `x-json.log.1` beside
   * `x-json.log`) that are neither tracked nor drained: files created, written and rotated while
   * warden was down or between scans, invisible through a `/var/log/containers` symlink. Each is
   * read as a rotated file from its checkpointed offset (a restart) or from 0, oldest first (by
   * mtime), no more than `tail.rotated_max_files` leave room for: the rest at the next rescan.
   */
  private async readSiblings(where: DirInodes): Promise<void> {
    for (const { s, of } of await this.siblings(where)) {
      if (this.stopping || this.rotatedFiles.size >= this.config.tail.rotated_max_files) break;
      const key = inodeKey(s.dev, s.ino);
      if (this.byKey.has(key)) continue;
      const c = await this.discovery.sibling(s, of.path, of.input);
      if (!c || this.byKey.has(key)) continue;
      // A drained or checkpointed entry resumes where it stood once its fingerprint matches
      // (ensureOpen); a new generation under a reused inode is read from 0.
      const e = this.drained.get(key)?.entry ?? this.saved.get(key);
      this.drained.delete(key);
      this.saved.delete(key);
      const plan = e ? { offset: e.offset, fp: e.fp, fpLen: e.fp_len } : await this.copyOf(s, of);
      if (this.byKey.has(key)) continue;
      const f = this.makeFile(c, plan);
      this.markRotated(f, 'recovered');
    }
  }

  /**
   * At stop: copytruncate copies not picked up yet (their truncate noticed or not) get a checkpoint
   * entry at what was read of their generation, since what is known of truncated generations does
   * not outlive the process. Other unread siblings get none: the next start reads them.
   */
  private async noteCopies(where: DirInodes): Promise<void> {
    for (const { s, of } of await this.siblings(where)) {
      const key = inodeKey(s.dev, s.ino);
      if (this.drained.has(key)) continue;
      const plan = await this.copyOf(s, of);
      if (plan.fp === undefined) continue;
      const entry: CheckpointEntry = { dev: s.dev, ino: s.ino, fp: plan.fp, fp_len: plan.fpLen!, path: of.path, real_path: s.path, input: of.input.name, offset: plan.offset, updated: new Date(this.now()).toISOString() };
      this.drained.set(key, { entry, size: plan.offset, dir: dirname(s.path) });
    }
  }

  /** Rotated siblings of the tailed files not tracked nor drained (each directory listed once), oldest first. */
  private async siblings(where: DirInodes): Promise<Array<{ s: Listed; of: TailedFile }>> {
    const byDir = new Map<string, TailedFile[]>();
    for (const f of this.byKey.values()) {
      if (f.state === 'rotated' || f.state === 'done') continue;
      const dir = dirname(f.realPath);
      const list = byDir.get(dir);
      if (list) list.push(f);
      else byDir.set(dir, [f]);
    }
    const found: Array<{ s: Listed; of: TailedFile }> = [];
    const listed = new Set<string>();
    for (const [dir, files] of byDir) {
      const inDir = await this.discovery.listDir(dir, where);
      listed.add(dir);
      const keys = new Set<string>();
      for (const s of inDir) {
        const key = inodeKey(s.dev, s.ino);
        keys.add(key);
        if (this.byKey.has(key)) continue;
        const d = this.drained.get(key);
        if (d && s.size <= d.size) continue;
        const of = files.find((f) => isRotationOf(s.path, basename(f.realPath)));
        if (of) found.push({ s, of });
      }
      for (const [key, d] of this.drained) if (d.dir === dir && !keys.has(key)) this.drained.delete(key);
    }
    return found.sort((a, b) => a.s.mtimeMs - b.s.mtimeMs);
  }

  /**
   * A sibling never seen may be a copytruncate copy (a new inode holding what was read from the
   * file `of`, before or after the truncate was noticed): its first bytes match the live file's or
   * a truncated generation's, and it resumes at what was read of that. Anything else is read from 0.
   * Limit: a new file whose first KiB is the same as the live file's (a fixed banner) is taken for
   * a copy.
   */
  private async copyOf(s: Listed, of: TailedFile): Promise<ResumePlan> {
    const known: ResumePlan[] = [...(this.copied.get(of.key) ?? [])];
    if (of.fpLen > 0) known.unshift({ offset: of.readPos, fp: of.fp, fpLen: of.fpLen });
    if (known.length === 0) return { offset: 0 };
    const opened = await this.discovery.open(s.path, s.dev, s.ino);
    if (!('fd' in opened)) return { offset: 0 };
    try {
      for (const k of known) {
        if (k.fp !== undefined && (await fingerprintMatches(opened.fd, { fp: k.fp, fpLen: k.fpLen! }))) return { ...k, offset: Math.min(k.offset, opened.st.size) };
      }
      return { offset: 0 };
    } finally {
      closeSync(opened.fd);
    }
  }

  // ---- rotation -------------------------------------------------------------------------------

  /** Its path names another file now, or nothing: it was rotated or deleted. */
  private rotated(f: TailedFile): void {
    if (f.state === 'rotated' || f.state === 'done') return;
    for (const [p, g] of this.byPath) if (g === f) this.byPath.delete(p);
    if (f.fd === null) {
      void this.rescan();
      return;
    }
    const fd = f.fd;
    fstat(fd, (err, st) => {
      const kind = !err && st.nlink === 0 ? 'deleted' : f.realPath.endsWith('-json.log') ? 'docker' : f.meta.k8s ? 'kubelet' : 'rename';
      if (f.state !== 'rotated' && f.state !== 'done') this.markRotated(f, kind);
    });
  }

  private markRotated(f: TailedFile, kind: string): void {
    f.state = 'rotated';
    f.rotatedAt = this.now();
    this.metrics.rotations.inc({ kind });
    this.logger.info({ path: f.path, real_path: f.realPath, kind, offset: f.readPos }, 'file rotated; draining it from its descriptor');
    // Oldest first: the set keeps the order files were marked in.
    this.rotatedFiles.delete(f);
    this.rotatedFiles.add(f);
    for (const g of this.rotatedFiles) {
      if (this.rotatedFiles.size <= this.config.tail.rotated_max_files) break;
      this.giveUp(g, 'rotated_max_files');
    }
    this.wantRead(f);
  }

  /**
   * Stop draining a rotated file: what was not read is lost, counted and logged with the path.
   * Synchronous, so a file is given up once: thousands of rotations must not each give up the same
   * files again while an fstat is pending (that was half the CPU time with 5,000 files).
   */
  private giveUp(f: TailedFile, reason: string): void {
    if (f.state === 'done') return;
    let size = f.size;
    if (f.fd !== null) {
      try {
        size = Math.max(size, fstatSync(f.fd).size);
      } catch {
        // the descriptor is gone: the last size seen is all we know
      }
    }
    this.finish(f);
    this.losses.lost(reason, size - f.readPos, f.path, 'gave up a rotated file before it was drained', { real_path: f.realPath });
  }

  /** A rotated file is drained: ship its last unterminated line and pending partials, close it. */
  private finish(f: TailedFile): void {
    if (f.state === 'done') return;
    this.endCarry(f);
    this.flushPartials(f);
    f.state = 'done';
    this.rotatedFiles.delete(f);
    this.ready.delete(f);
    this.setWaiting(f, false);
    if (!f.busy) this.closeFd(f);
    f.settle(this.now());
    if (f.inFlight === 0) this.forget(f, true);
  }

  /**
   * A closed file (idle, or found and never opened) is gone from its directory: what it held past
   * the offset read is lost (a file found and deleted before it was opened: all of it).
   */
  private gone(f: TailedFile): void {
    const from = f.resume ? f.resume.offset : f.readPos;
    this.forget(f);
    this.losses.lost('deleted_unread', f.size - from, f.path, 'file deleted before it was read to its end', { real_path: f.realPath });
  }

  /** No newline will come: the unterminated line is shipped as it is, flagged `partial` (its end never arrived). */
  private endCarry(f: TailedFile): void {
    if (!f.carry || f.carry.length === 0) return;
    const carry = f.carry;
    f.carry = null;
    this.consumeLine(f, carry, 0, carry.length, f.lineEnd + carry.length, false, ...this.nowParts(), true);
  }

  /** `drained`: it was read to its end (or given up), and its entry is kept while the file exists. */
  private forget(f: TailedFile, drained = false): void {
    if (drained && this.byKey.get(f.key) === f) {
      const entry = this.entryOf(f, new Date(this.now()).toISOString());
      if (entry) {
        this.drained.delete(f.key);
        this.drained.set(f.key, { entry, size: Math.max(f.size, f.readPos), dir: dirname(f.realPath) });
        for (const k of this.drained.keys()) {
          if (this.drained.size <= DRAINED_MAX) break;
          this.drained.delete(k);
        }
      }
    }
    f.state = 'done';
    this.rotatedFiles.delete(f);
    this.ready.delete(f);
    this.setWaiting(f, false);
    if (!f.busy) this.closeFd(f);
    if (this.byKey.get(f.key) === f) {
      this.byKey.delete(f.key);
      this.copied.delete(f.key);
    }
    for (const [p, g] of this.byPath) if (g === f) this.byPath.delete(p);
    this.metrics.watchedFiles.set(this.byKey.size);
    this.checkpointDirty = true;
  }

  // ---- reading --------------------------------------------------------------------------------

  private wantRead(f: TailedFile): void {
    if (f.state === 'done') return;
    this.ready.add(f);
    this.kick();
  }

  private canRead(): boolean {
    return this.started && !this.stopping && !this.paused && this.sender.writable();
  }

  private kick(): void {
    if (this.pumping || !this.canRead() || this.ready.size === 0) return;
    // The pump starts a microtask later, once `pumping` is set: its synchronous start can call
    // kick() again (freeSlot → closeFd → wantRead), and a second pump would open past max_open_files.
    this.pumping = Promise.resolve()
      .then(() => this.pump())
      .finally(() => {
        this.pumping = null;
        if (this.ready.size > 0 && this.canRead() && !this.rateTimer) setImmediate(() => this.kick());
      });
  }

  private async pump(): Promise<void> {
    while (this.canRead()) {
      if (!this.takeTokens()) return;
      const f = this.ready.values().next().value as TailedFile | undefined;
      if (!f) return;
      this.ready.delete(f);
      f.busy = true;
      try {
        await this.step(f);
      } catch (err) {
        this.logger.warn({ path: f.path, err: String(err) }, 'read failed; will retry on the next event or rescan');
      } finally {
        f.busy = false;
        if (f.state === 'done') this.closeFd(f);
      }
    }
  }

  private takeTokens(): boolean {
    if (this.rate === null) return true;
    const now = this.now();
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

  private async step(f: TailedFile): Promise<void> {
    if (f.state === 'done' || !(await this.ensureOpen(f))) return;
    const fd = f.fd!;
    // A file truncated and written past its old size again looks like growth; its first bytes tell,
    // or, when the new generation starts with the same banner, the bytes before the read offset.
    if (f.checkFp && f.fpLen > 0) {
      f.checkFp = false;
      const same = (await fingerprintMatches(fd, { fp: f.fp, fpLen: f.fpLen })) && (!f.tail || (await tailMatches(fd, f.tail)));
      if (!same) this.truncated(f, (await fstatAsync(fd)).size);
    }
    const pos = f.readPos;
    const want = this.shedding ? Math.min(this.config.tail.read_chunk_bytes, 64 * 1024) : this.config.tail.read_chunk_bytes;
    // The carry goes in front of the block in one reused buffer: no per-read concatenation.
    const carryLen = f.carry ? f.carry.length : 0;
    const buf = this.readBuffer(carryLen + want);
    const { bytesRead } = await readAsync(fd, buf, carryLen, want, pos);
    const now = this.now();
    if (bytesRead > 0) {
      if (this.rate !== null) this.tokens -= bytesRead;
      f.lastActivity = now;
      f.eofSince = null;
      if (f.carry) f.carry.copy(buf, 0);
      f.carry = null;
      const total = carryLen + bytesRead;
      const base = pos - carryLen;
      const run = nulRun(buf, carryLen, total, bytesRead === want);
      this.consume(f, run ? buf.subarray(0, run.start) : buf.subarray(0, total), base);
      if (run?.skip) this.skipNul(f, base + run.start, run.end < total ? base + run.end : await this.zerosEnd(fd, base + run.end));
      else if (!run) f.tail = tailOf(buf, total, base + total);
      if (f.readPos > f.size) f.size = f.readPos;
      this.metrics.bytesRead.inc({ input: f.input.name }, bytesRead);
      if (f.fpLen < FP_BYTES && f.readPos > f.fpLen) {
        const fp = await fingerprintFd(fd);
        f.fp = fp.fp;
        f.fpLen = fp.fpLen;
      }
      // After a NUL run (skipped, or cut off at the block's end) the next read starts behind it.
      if (bytesRead === want || run) this.ready.add(f);
      else {
        f.checkFp = true;
        // At EOF for now while others wait for a descriptor: hand this one over (closeFd wakes the
        // next in line), or waiting files would only get a turn at the next rescan.
        if (this.waiting.size > 0 && f.state === 'active') this.closeIdle(f);
      }
      return;
    }
    const st = await fstatAsync(fd);
    if (st.size < pos) {
      this.truncated(f, st.size);
      this.ready.add(f);
      return;
    }
    f.size = st.size;
    if (st.size > pos) {
      this.ready.add(f);
      return;
    }
    if (f.eofSince === null) f.eofSince = now;
    f.checkFp = true;
    if (st.nlink === 0 && f.state === 'active') this.rotated(f);
  }

  /**
   * Bytes `[from, to)` are a run of NULs (nulRun): not shipped, counted as lost with reason `nul`,
   * and the checkpoint may pass them. Text before the run that has no newline yet is shipped as it
   * is, flagged `partial`: the run ends it.
   */
  private skipNul(f: TailedFile, from: number, to: number): void {
    this.endCarry(f);
    f.lineEnd = to;
    if (f.pendingStart < 0) f.segment(f.lineEnd);
    if (f.settle(this.now())) this.checkpointDirty = true;
    this.metrics.bytesLost.inc({ reason: 'nul' }, to - from);
    if (!this.warnedNul.has(f)) {
      this.warnedNul.add(f);
      this.logger.warn({ path: f.path, offset: from, bytes: to - from }, 'skipping a run of NUL bytes (a sparse file or a region never written); counted in warden_bytes_lost_total{reason="nul"}, later runs in this file only counted');
    }
  }

  /**
   * Where the NULs from `from` end. Node has no lseek(SEEK_DATA), so a hole is read; it reads as
   * zeros without touching the disk, and in big blocks 10 GiB pass in a few seconds (1 MiB blocks
   * take 4× as long). The big block is allocated only once a first 1 MiB proved all zeros, and is
   * dropped after the call. At most ZERO_SCAN_MAX per call, so other files get their turn; the
   * next read goes on from there.
   */
  private async zerosEnd(fd: number, from: number): Promise<number> {
    let b = Buffer.allocUnsafe(ZERO_SCAN_FIRST);
    let pos = from;
    while (pos - from < ZERO_SCAN_MAX && !this.stopping) {
      const { bytesRead } = await readAsync(fd, b, 0, b.length, pos);
      if (bytesRead === 0) break;
      const n = zeroPrefix(b, 0, bytesRead);
      pos += n;
      if (n < bytesRead) break;
      if (b.length < ZERO_SCAN_BIG) b = Buffer.allocUnsafe(ZERO_SCAN_BIG);
    }
    return pos;
  }

  /** One read buffer for all files (reads are sequential): read_chunk_bytes plus room for a carry. */
  private readBuffer(size: number): Buffer {
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(size);
    return this.buf;
  }

  /** copytruncate: the file shrank below what was read. Reread from 0 (the old tail is in the copy). */
  private truncated(f: TailedFile, size: number): void {
    this.metrics.truncations.inc();
    this.metrics.rotations.inc({ kind: 'copytruncate' });
    this.logger.info({ path: f.path, size, offset: f.readPos }, 'file truncated (copytruncate?); reading it again from the start');
    this.flushPartials(f);
    if (f.fpLen > 0) {
      const gens = this.copied.get(f.key) ?? [];
      gens.unshift({ offset: f.readPos, fp: f.fp, fpLen: f.fpLen });
      this.copied.set(f.key, gens.slice(0, COPIES_KEPT));
    }
    f.restart();
    f.size = size;
    // Zero bytes fingerprinted: the entry stays in the checkpoint (offset 0) until the next read
    // fingerprints the new content.
    f.fp = EMPTY_FP.fp;
    f.fpLen = 0;
    this.checkpointDirty = true;
  }

  private nowParts(): [number, number] {
    const ms = this.now();
    const sec = Math.floor(ms / 1000);
    return [sec, (ms - sec * 1000) * 1e6];
  }

  private consume(f: TailedFile, block: Buffer, pos: number): void {
    const [sec, nsec] = this.nowParts();
    let lines = 0;
    f.carry = splitLines(f.carry, block, pos, this.config.tail.max_line_bytes, (data, s, e, endOffset, cut) => {
      if (!cut) lines++;
      this.consumeLine(f, data, s, e, endOffset, cut, sec, nsec);
    });
    if (lines > 0) this.metrics.linesRead.inc({ input: f.input.name }, lines);
  }

  /**
   * One physical line (or cut piece) into the batches. No input can stop a file: whatever a parser,
   * the reassembly or the encoder throws on (a docker `attrs` nested 5,000 deep overflows
   * JSON.stringify's stack) is caught here, at the line, and the line's bytes are shipped raw,
   * flagged `parse_error`; reading goes on after it.
   */
  private consumeLine(f: TailedFile, data: Buffer, s: number, e: number, endOffset: number, cut: boolean, sec: number, nsec: number, unterminated = false): void {
    const lineStart = f.lineEnd;
    try {
      this.parseLine(f, data, s, e, endOffset, cut, sec, nsec, unterminated);
    } catch (err) {
      this.rawLine(f, data.toString('utf8', s, e), lineStart, endOffset, cut, sec, nsec, err);
    }
  }

  /** A line that failed in parseLine: shipped as its raw text, in its own record. */
  private rawLine(f: TailedFile, text: string, lineStart: number, endOffset: number, cut: boolean, sec: number, nsec: number, err: unknown): void {
    this.metrics.parseErrors.inc({ input: f.input.name });
    if (!this.warnedParse.has(f)) {
      this.warnedParse.add(f);
      this.logger.warn({ path: f.path, offset: lineStart, err: String(err) }, 'a line could not be parsed or encoded; shipped raw with parse_error (further ones in this file are only counted)');
    }
    f.inCut = cut;
    f.lineEnd = endOffset;
    if (f.reasm.pendingBytes() > 0 || cut) {
      if (f.pendingStart < 0) f.pendingStart = lineStart;
    } else f.pendingStart = -1;
    try {
      this.emit(f, [{ sec, nsec, stream: 'stdout', log: text, parse_error: true }]);
    } catch (again) {
      // Not even the raw text could be encoded: the line is given up, counted, and the file goes on.
      this.metrics.bytesLost.inc({ reason: 'encode' }, Buffer.byteLength(text));
      this.logger.warn({ path: f.path, offset: lineStart, err: String(again) }, 'a line could not be encoded even raw; given up');
      if (f.pendingStart < 0) f.segment(f.lineEnd);
    }
  }

  private parseLine(f: TailedFile, data: Buffer, s: number, e: number, endOffset: number, cut: boolean, sec: number, nsec: number, unterminated: boolean): void {
    const lineStart = f.lineEnd;
    if (f.format === null && e > s) f.format = detectFormat(data[s]!);
    // The common docker or CRI line goes from the read buffer to the batch without a string or a record.
    const byBytes = f.format === 'docker' ? parseDockerBytes : f.format === 'cri' ? parseCriBytes : null;
    if (byBytes && !cut && !unterminated && f.reasm.isEmpty() && byBytes(data, s, e, this.lineBytes)) {
      const d = this.lineBytes;
      if (d.length <= this.config.tail.max_line_bytes) {
        f.inCut = false;
        f.lineEnd = endOffset;
        f.pendingStart = -1;
        const seg = f.segment(f.sendableEnd);
        // The block's read time (consume's clock reading) opens a batch: no clock call per line.
        // Bytes the parser already checked cannot fail to encode: no closure or guard per line here.
        const b = this.batcher.batchFor(f.meta.tag, sec * 1000 + nsec / 1e6);
        const before = b.buf!.length;
        writeLineBytesEntry(b.buf!, data, d, this.packedMeta(f));
        this.added(b, seg, before);
        return;
      }
    }
    const text = data.toString('utf8', s, e);
    // Pieces after a cut are raw text of the same physical line (see Reassembler).
    const frag = f.inCut ? parsePlain(text, sec, nsec) : parsers[f.format ?? 'plain'](text, sec, nsec);
    if (frag.parseError) this.metrics.parseErrors.inc({ input: f.input.name });
    f.inCut = cut;
    const out = f.reasm.push(frag, cut, lineStart);
    if (unterminated && out.length > 0) out[out.length - 1]!.partial = true;
    f.lineEnd = endOffset;
    // Text held back (a partial, or a physical line not finished) makes the oldest line it comes
    // from uncommittable; pieces already shipped from a long chain let the checkpoint pass theirs.
    f.pendingStart = f.reasm.heldFrom();
    if (out.length > 0) this.emit(f, out);
    else if (f.pendingStart < 0) f.segment(f.lineEnd);
  }

  private flushPartials(f: TailedFile): void {
    const out = f.reasm.flush();
    // A raw cut piece (rawLine) is not in the Reassembler: its start stays held.
    const held = f.reasm.heldFrom();
    if (!f.inCut || held >= 0) f.pendingStart = held;
    if (out.length > 0) this.emit(f, out);
  }

  private emit(f: TailedFile, out: Assembled[]): void {
    const seg = f.segment(f.sendableEnd);
    const now = this.now();
    const meta = this.packedMeta(f);
    for (const a of out) {
      if (a.truncated) this.metrics.truncatedLines.inc();
      this.write(f, seg, now, (buf) => writeRecordEntry(buf, a, meta));
    }
  }

  /** Encode one entry into the file's batch; an encoder that throws leaves the batch as it was. */
  private write(f: TailedFile, seg: Segment, at: number, put: (out: EntryBuffer) => void): void {
    const b = this.batcher.batchFor(f.meta.tag, at);
    const before = b.buf!.length;
    try {
      put(b.buf!);
    } catch (err) {
      b.buf!.length = before;
      throw err;
    }
    this.added(b, seg, before);
  }

  /** An entry was written into `b` (which held `before` bytes): send what is full or over budget. */
  private added(b: Batch, seg: Segment, before: number): void {
    const full = this.batcher.added(b, seg, b.buf!.length - before);
    if (full) this.sendBatch(full);
    for (const o of this.batcher.overBudget()) this.sendBatch(o);
  }

  /** The file's constant record fields, encoded once (the host is the pipeline's). */
  private packedMeta(f: TailedFile): PackedMeta {
    let m = this.metaCache.get(f);
    if (!m) {
      m = packMeta({ k8s: f.meta.k8s, dockerId: f.meta.dockerId, host: this.host });
      this.metaCache.set(f, m);
    }
    return m;
  }

  private sendBatch(b: Batch): void {
    // From here on new lines go to a new segment: this one's batches are fixed.
    for (const seg of b.segments) seg.sealed = true;
    let p: Promise<void>;
    try {
      p = this.sender.send(b.tag, b.buf!.view(), b.count);
    } catch (err) {
      p = Promise.reject(err);
    }
    // ChunkSender copies or consumes `entries` during send(): the buffer serves the next batch.
    this.batcher.release(b);
    const { tag, count, segments } = b;
    const tracked: Promise<void> = p.then(
      () => this.acked(segments),
      (err) => this.logger.warn({ tag, records: count, err: String(err) }, 'batch not acknowledged; its offsets stay uncommitted'),
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }

  private acked(segments: Segment[]): void {
    const now = this.now();
    for (const seg of segments) seg.pending--;
    for (const seg of segments) {
      const f = seg.file;
      if (f.settle(now)) this.checkpointDirty = true;
      if (f.state === 'done' && f.inFlight === 0 && this.byKey.get(f.key) === f) this.forget(f, true);
    }
  }

  // ---- descriptors ----------------------------------------------------------------------------

  private async ensureOpen(f: TailedFile): Promise<boolean> {
    if (f.fd !== null) return true;
    if (this.openCount >= this.config.tail.max_open_files && !this.freeSlot(f)) {
      f.state = f.state === 'rotated' ? 'rotated' : 'waiting';
      this.setWaiting(f, true);
      if (!this.loggedWaiting) {
        this.loggedWaiting = true;
        this.logger.info({ max_open_files: this.config.tail.max_open_files }, 'tail.max_open_files reached; further files wait their turn');
      }
      return false;
    }
    this.setWaiting(f, false);
    let opened = await this.discovery.open(f.realPath, f.dev, f.ino);
    if ('gone' in opened) {
      // Renamed again before it was (re)opened: a docker shift moves `.1` to `.2` under a file
      // recovered at start; a file closed while idle was rotated. Its inode says where it went.
      const found = await this.discovery.findByInode(dirname(f.realPath), f.dev, f.ino);
      if (found && found !== f.realPath) {
        this.moved(f, found);
        opened = await this.discovery.open(found, f.dev, f.ino);
      }
    }
    if ('refused' in opened) {
      // Resolves outside the roots now (a directory on its path was swapped): closed unread, counted.
      this.forget(f);
      return false;
    }
    if ('gone' in opened) {
      if (f.state === 'rotated') this.giveUp(f, opened.gone === 'replaced' ? 'replaced' : 'open_failed');
      else this.gone(f);
      return false;
    }
    if ('error' in opened) {
      this.unreadable(f, opened.error);
      return false;
    }
    const { fd, st } = opened;
    if (f.openError !== null) {
      this.logger.info({ path: f.path, real_path: f.realPath, was: f.openError }, 'file can be opened again; reading on from its offset');
      this.warnedOpen.delete(`${f.key}\0${f.openError}`);
      f.openError = null;
    }
    f.fd = fd;
    this.openCount++;
    this.metrics.openFiles.set(this.openCount);
    if (f.state !== 'rotated') f.state = 'active';
    if (f.resume) {
      const r = f.resume;
      f.resume = null;
      let start = Math.min(r.offset, st.size);
      if (r.fp !== undefined && r.fpLen !== undefined) {
        const ok =
          r.offset <= st.size && (await fingerprintMatches(fd, { fp: r.fp, fpLen: r.fpLen })) && (!r.tail || (await tailMatches(fd, r.tail)));
        if (!ok) {
          this.logger.info({ path: f.path, offset: r.offset, size: st.size }, 'checkpoint does not match this file (inode reused or truncated); reading it from the start');
          start = 0;
        } else if (r.tail) f.tail = f.tailCommitted = r.tail;
      }
      f.lineEnd = f.committed = start;
      f.clearQueue();
    } else if (f.fpLen >= 0) {
      // Reopened after an idle close: the inode may have been freed and reused meanwhile. A birth
      // time other than the one seen at the last open says so even with the same first bytes.
      const reborn = f.birth !== null && st.birthtimeMs > 0 && st.birthtimeMs !== f.birth;
      // The bytes before the read offset tell a new generation that starts with the same banner; a
      // file now shorter than them is a truncation (below).
      const same =
        !reborn &&
        (await fingerprintMatches(fd, { fp: f.fp, fpLen: f.fpLen })) &&
        (!f.tail || st.size < f.tail.at || (await tailMatches(fd, f.tail)));
      if (!same) {
        this.logger.info({ path: f.path }, 'file changed identity while closed (inode reused); reading it from the start');
        this.flushPartials(f);
        f.restart();
      } else if (st.size < f.readPos) this.truncated(f, st.size);
    }
    f.size = st.size;
    f.birth = st.birthtimeMs > 0 ? st.birthtimeMs : null;
    const fp = await fingerprintFd(fd);
    f.fp = fp.fp;
    f.fpLen = fp.fpLen;
    return true;
  }

  /**
   * open() failed with an error that may pass (EACCES/EPERM after a chmod, EMFILE, EIO): the file
   * keeps its identity, offset and checkpoint entry, and every rescan tries again. Forgetting it
   * instead would adopt it as new at offset 0 once readable and send acked lines again.
   */
  private unreadable(f: TailedFile, err: NodeJS.ErrnoException): void {
    const code = err.code ?? 'EUNKNOWN';
    f.openError = code;
    if (f.state !== 'rotated') f.state = 'unreadable';
    const key = `${f.key}\0${code}`;
    if (this.warnedOpen.has(key)) return;
    this.warnedOpen.add(key);
    this.logger.warn(
      { path: f.path, real_path: f.realPath, code, err: String(err), offset: f.committed },
      'cannot open a tailed file; keeping its offset and retrying on every rescan',
    );
  }

  /** A closed file found under another name in its directory: it was rotated while closed. */
  private moved(f: TailedFile, found: string): void {
    f.realPath = found;
    for (const [p, g] of this.byPath) if (g === f) this.byPath.delete(p);
    if (f.state !== 'rotated') this.markRotated(f, 'rename');
  }

  private setWaiting(f: TailedFile, on: boolean): void {
    if (on) this.waiting.add(f);
    else this.waiting.delete(f);
    this.metrics.waitingFiles.set(this.waiting.size);
  }

  /** Close the least recently active file that is at EOF to make room for `f`; false when none can go. */
  private freeSlot(f: TailedFile): boolean {
    let victim: TailedFile | null = null;
    for (const g of this.byKey.values()) {
      if (g === f || g.fd === null || g.busy || g.state !== 'active' || g.readPos < g.size || this.ready.has(g)) continue;
      if (!victim || g.lastActivity < victim.lastActivity) victim = g;
    }
    if (!victim) return false;
    this.closeIdle(victim);
    return true;
  }

  private closeIdle(f: TailedFile): void {
    this.closeFd(f);
    f.state = 'idle';
  }

  private closeFd(f: TailedFile): void {
    if (f.fd === null) return;
    try {
      closeSync(f.fd);
    } catch {
      // already closed: nothing to release
    }
    f.fd = null;
    this.openCount--;
    this.metrics.openFiles.set(this.openCount);
    if (this.waiting.size > 0) {
      const next = this.waiting.values().next().value as TailedFile;
      this.setWaiting(next, false);
      this.wantRead(next);
    }
  }

  // ---- timers ---------------------------------------------------------------------------------

  private housekeeping(): void {
    if (this.stopping) return;
    const now = this.now();
    const t = this.config.tail;
    for (const b of this.batcher.due(now, this.config.forward.flush_interval_ms)) this.sendBatch(b);
    let lag = 0;
    for (const f of [...this.byKey.values()]) {
      lag += f.lag();
      if (f.reasm.pendingBytes() > 0 && !f.inCut && now - f.lastActivity >= t.partial_flush_ms) this.flushPartials(f);
      if (f.state === 'rotated' && !f.busy) {
        if (now - f.rotatedAt! > t.rotated_keep_s * 1000) this.giveUp(f, 'rotated_keep_s');
        else if (f.eofSince !== null && f.readPos >= f.size && now - f.eofSince >= Math.min(ROTATED_SETTLE_MS, t.rotated_keep_s * 1000)) this.finish(f);
        else if (f.openError === null) this.ready.add(f);
      } else if (f.state === 'active' && !f.busy && f.fd !== null && f.readPos >= f.size && now - f.lastActivity >= t.idle_close_s * 1000) {
        this.closeIdle(f);
      }
    }
    this.metrics.lagBytes.set(lag);
    if (this.waiting.size > 0 && this.openCount < t.max_open_files) for (const f of this.waiting) this.wantRead(f);
    if (this.ready.size > 0) this.kick();
    if (this.checkpointDirty && now - this.lastCheckpoint >= t.checkpoint_interval_ms) {
      this.checkpointDirty = false;
      this.lastCheckpoint = now;
      void this.store.write(this.entries()).then((ok) => {
        if (!ok) this.checkpointDirty = true;
      });
    }
  }

  private entries(): CheckpointEntry[] {
    const out: CheckpointEntry[] = [];
    const updatedNow = new Date(this.now()).toISOString();
    for (const f of this.byKey.values()) {
      const e = this.entryOf(f, updatedNow);
      if (e) out.push(e);
    }
    for (const [key, d] of this.drained) if (!this.byKey.has(key)) out.push(d.entry);
    return out;
  }

  private entryOf(f: TailedFile, updatedNow: string): CheckpointEntry | null {
    const base = { dev: f.dev, ino: f.ino, path: f.path, input: f.input.name, updated: f.updated };
    const real = f.realPath !== f.path ? { real_path: f.realPath } : {};
    if (f.resume) {
      const fp = f.resume.fp !== undefined ? { fp: f.resume.fp, fp_len: f.resume.fpLen! } : { fp: EMPTY_FP.fp, fp_len: 0 };
      return { ...base, ...real, ...fp, ...tailFields(f.resume.tail), offset: f.resume.offset, updated: updatedNow };
    }
    if (f.fpLen < 0) return null;
    const tail = f.tailCommitted && f.tailCommitted.at <= f.committed ? f.tailCommitted : undefined;
    return { ...base, ...real, fp: f.fp, fp_len: f.fpLen, ...tailFields(tail), offset: f.committed };
  }
}

function tailFields(t: TailMark | undefined): Pick<CheckpointEntry, 'tail_hash' | 'tail_len' | 'tail_at'> {
  return t ? { tail_hash: t.hash, tail_len: t.len, tail_at: t.at } : {};
}
