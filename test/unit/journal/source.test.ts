// JournalSource with a real journalctl over real journal files, and the real Forward client into a
// real sink on loopback; and with a journalctl that does not exist.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForwardClient } from '../../../agent/forward/client.js';
import { startSink, type Sink } from '../../../agent/forward/sink.js';
import { createMetrics } from '../../../agent/health/metrics.js';
import { JournalSource, type JournalSourceOptions } from '../../../agent/journal/source.js';
import { journalToolsMissing, sequence, writeJournal } from '../../fixtures/journal/write.js';
import { captureLogger, waitFor } from '../../support/index.js';
import { skipNote } from '../../support/skip.js';

let root: string;
beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'warden-jsrc-'))));
afterEach(() => rmSync(root, { recursive: true, force: true }));

const missing = journalToolsMissing();

function options(over: Partial<JournalSourceOptions> & Pick<JournalSourceOptions, 'sender'>): { opts: JournalSourceOptions; lines: string[] } {
  const { logger, lines } = captureLogger('info');
  const opts: JournalSourceOptions = {
    input: { name: 'node', units: ['kubelet.service'], matches: [], journal_dir: join(root, 'journal') },
    stateDir: join(root, 'state'),
    host: 'h',
    logger,
    metrics: createMetrics({ defaults: false }),
    readFrom: 'head',
    maxRecordBytes: 65536,
    batch: { maxRecords: 100, maxBytes: 65536, flushMs: 10 },
    restart: { backoff_initial_ms: 20, backoff_max_ms: 200, stable_after_s: 60, degraded_after: 5 },
    pollIntervalMs: 100,
    checkpointIntervalMs: 20,
    ...over,
  };
  return { opts, lines };
}

describe('JournalSource', () => {
  it('a missing journalctl is retried with backoff, logged with a hint, never thrown', async () => {
    const sender = { send: async () => {}, writable: () => true, on: () => undefined };
    const { opts, lines } = options({ sender, journalctl: join(root, 'no-such-journalctl') });
    const src = new JournalSource(opts);
    await src.start();
    await waitFor('two restarts', () => src.status().restarts >= 2);
    expect(src.status()).toMatchObject({ last_exit: 'start_failed(ENOENT)', records: 0 });
    expect(lines.join('')).toContain('journalctl is not installed');
    await src.stop();
    expect(src.status().state).toBe('stopped');
  });

  describe.skipIf(missing !== null)(`over real journal files${skipNote(missing)}`, () => {
    let sink: Sink;
    let client: ForwardClient;
    const out = () => join(root, 'out.ndjson');
    const received = (): string[] => {
      try {
        return readFileSync(out(), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).record.log);
      } catch {
        return [];
      }
    };
    beforeEach(async () => {
      mkdirSync(join(root, 'journal'));
      sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: out(), sharedKey: null });
      const { logger } = captureLogger('silent');
      client = new ForwardClient({ to: `tcp://127.0.0.1:${sink.port}`, sharedKey: null, selfHostname: 'a', ackTimeoutMs: 5000, connectTimeoutMs: 1000, maxInflight: 2, logger });
      client.start();
    });
    afterEach(async () => {
      await client.close();
      await sink.close();
    });

    it('read_from end: entries already there are not sent; a stop before any ack keeps the start position', async () => {
      const t0 = Date.now();
      writeJournal(join(root, 'journal', 'old.journal'), sequence('old', 0, 5, ['kubelet.service'], (t0 - 3_600_000) * 1000));
      const first = new JournalSource(options({ sender: client, readFrom: 'end', now: () => t0 }).opts);
      await first.start();
      await waitFor('journalctl running', () => first.status().pid !== null);
      await first.stop();
      // Written after the first start, while warden is down; the next start is a minute later by its
      // clock, and still reads them: it starts where the first start began, not at its own "now".
      writeJournal(join(root, 'journal', 'new.journal'), sequence('new', 0, 5, ['kubelet.service'], (t0 + 1000) * 1000));
      const second = new JournalSource(options({ sender: client, readFrom: 'end', now: () => t0 + 60_000 }).opts);
      await second.start();
      await waitFor('the new entries', () => received().length >= 5);
      await second.stop();
      expect(received()).toEqual(['new-0', 'new-1', 'new-2', 'new-3', 'new-4']);
    });

    it('pause() stops reading (journalctl blocks), resume() goes on', async () => {
      writeJournal(join(root, 'journal', 'a.journal'), sequence('m', 0, 20, ['kubelet.service']));
      const src = new JournalSource(options({ sender: client }).opts);
      src.pause();
      await src.start();
      await waitFor('journalctl running', () => src.status().pid !== null);
      await new Promise((r) => setTimeout(r, 300));
      expect(src.status().records).toBe(0);
      src.resume();
      await waitFor('all entries after resume', () => received().length >= 20);
      await src.stop();
      expect(src.status().records_acked).toBe(20);
    });
  });
});
