// What the tail pipeline's collaborators share: the environment (config, logger, metrics, the two
// clocks) and each other. TailPipeline, the composition root, builds one Tail and hands it to each
// collaborator; each one does one job and reaches the others only through it.
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../health/metrics.js';
import type { Adopter } from './adopt.js';
import type { CheckpointStore } from './checkpoint.js';
import type { Discovery } from './discovery.js';
import type { DrainedFiles } from './drained.js';
import type { AckLedger } from './ledger.js';
import type { LineAssembler } from './lines.js';
import type { Opener } from './open.js';
import type { StartPlans } from './plans.js';
import type { FileReader } from './read.js';
import type { Rotations } from './rotated.js';
import type { Scheduler } from './scheduler.js';
import type { Siblings } from './siblings.js';
import type { FileTable } from './table.js';

/** What the pipeline needs from the Forward client (agent/forward/client.ts ForwardClient fits). */
export interface ChunkSender {
  /**
   * Resolves when the receiver acked the chunk (or what of it the receiver did not keep refusing:
   * a record given up is counted by the sender); rejects only when the sender was closed first.
   * `entries` is valid only during the call (the pipeline reuses its buffer): copy what is kept.
   * `origin` is called only to name the chunk's source when a record of it is given up.
   */
  send(tag: string, entries: Uint8Array, count: number, origin?: () => Record<string, unknown>): Promise<void>;
  writable(): boolean;
  on(ev: 'drain', fn: () => void): unknown;
  /** When present, stop() takes its 'drain' listener off again (one sender may outlive pipelines). */
  off?(ev: 'drain', fn: () => void): unknown;
}

export interface TailEnv {
  /** Replaced on reconfigure(). */
  config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The record's `host` field. */
  readonly host: string;
  readonly sender: ChunkSender;
  /** Wall clock (ms since the epoch): stamps records and checkpoint times, never a duration. */
  readonly wall: () => number;
  /** Monotonic clock (ms): every duration and timeout, so a wall-clock step times nothing out. */
  readonly mono: () => number;
  /** Docker and CRI lines go from the read buffer to the batch as bytes when they can (lines.ts). */
  readonly bytePath: boolean;
  /** stop() has begun: no new reads, scans or timers. */
  stopping: boolean;
}

export interface Tail {
  readonly env: TailEnv;
  readonly discovery: Discovery;
  readonly store: CheckpointStore;
  readonly plans: StartPlans;
  readonly drained: DrainedFiles;
  readonly table: FileTable;
  readonly scheduler: Scheduler;
  readonly ledger: AckLedger;
  readonly lines: LineAssembler;
  readonly reader: FileReader;
  readonly opener: Opener;
  readonly rotations: Rotations;
  readonly siblings: Siblings;
  readonly adopter: Adopter;
}
