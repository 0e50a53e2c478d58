// Every journald input of the configuration, as one part for the composition root
// (supervisor/run.ts): started and stopped with the file pipeline, paused while the child is not
// ready, shown in /status under `journal`.
import type { Config, JournalInputConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../health/metrics.js';
import type { ChunkSender } from '../tail/pipeline.js';
import { JournalSource, type JournalStatus } from './source.js';

export interface JournalInputsOptions {
  config: Config;
  sender: ChunkSender;
  logger: Logger;
  metrics: Metrics;
  /** The program; default `journalctl` from PATH. */
  journalctl?: string;
}

export class JournalInputs {
  private sources = new Map<string, JournalSource>();
  private paused = false;
  private started = false;

  constructor(private readonly opts: JournalInputsOptions) {}

  async start(): Promise<void> {
    this.started = true;
    await Promise.all(this.opts.config.journal.map((input) => this.add(this.opts.config, input)));
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.sources.values()].map((s) => s.stop()));
  }

  pause(): void {
    this.paused = true;
    for (const s of this.sources.values()) s.pause();
  }

  resume(): void {
    this.paused = false;
    for (const s of this.sources.values()) s.resume();
  }

  /**
   * After a reload: a journald input whose settings changed is stopped (its cursor written) and
   * started again with the new ones; removed inputs stop, new ones start. Unchanged ones go on.
   */
  async reconfigure(config: Config): Promise<void> {
    if (!this.started) return;
    const next = new Map(config.journal.map((i) => [i.name, i]));
    const prev = new Map(this.opts.config.journal.map((i) => [i.name, i]));
    this.opts.config = config;
    await Promise.all(
      [...this.sources.entries()].map(async ([name, s]) => {
        const n = next.get(name);
        if (n && JSON.stringify(n) === JSON.stringify(prev.get(name))) return;
        this.sources.delete(name);
        await s.stop();
      }),
    );
    await Promise.all([...next.values()].filter((i) => !this.sources.has(i.name)).map((i) => this.add(config, i)));
  }

  status(): JournalStatus[] {
    return [...this.sources.values()].map((s) => s.status());
  }

  /** Cursor writes failing for some input: the first such error. */
  cursorHealth(): { ok: boolean; error?: string } {
    for (const s of this.sources.values()) {
      const h = s.cursorHealth();
      if (!h.ok) return h;
    }
    return { ok: true };
  }

  private async add(config: Config, input: JournalInputConfig): Promise<void> {
    const { tail, forward } = config;
    const s = new JournalSource({
      input,
      stateDir: config.state_dir,
      host: config.node_name,
      sender: this.opts.sender,
      logger: this.opts.logger,
      metrics: this.opts.metrics,
      readFrom: tail.read_from,
      maxRecordBytes: tail.max_line_bytes,
      batch: { maxRecords: forward.batch_max_records, maxBytes: forward.batch_max_bytes, flushMs: forward.flush_interval_ms },
      restart: config.child.restart,
      pollIntervalMs: tail.rescan_interval_ms,
      checkpointIntervalMs: tail.checkpoint_interval_ms,
      journalctl: this.opts.journalctl,
    });
    this.sources.set(input.name, s);
    if (this.paused) s.pause();
    await s.start();
  }
}
