// The journald input end to end: real journal files (written by systemd-journal-remote), the real
// journalctl following their directory, the real `warden run` with `warden sink` as its child —
// across kill -9 of warden, kill -9 of journalctl and a clean restart.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalToolsMissing, sequence, writeJournal, type ExportEntry } from '../fixtures/journal/write.js';
import { freePort, readNdjson, tempDir, waitFor } from '../support/index.js';
import { startWarden, wardenScope } from '../support/warden.js';
import { skipNote } from '../support/skip.js';

const scope = wardenScope();
const missing = journalToolsMissing();
const UNITS = ['kubelet.service', 'containerd.service', 'ssh.service'];
/** Entries of ssh.service are not selected (not in units, not matched). */
const selected = (i: number) => i % 3 !== 2;
const MAX_LINE = 4096;

/** `input(dir)`: settings of the journald input that differ, given the test's temp dir. */
async function setup(input: (dir: string) => Record<string, unknown> = () => ({})) {
  const t = tempDir('warden-journald-');
  scope.cleanup = t.cleanup;
  const journalDir = join(t.dir, 'journal');
  mkdirSync(journalDir);
  const fwdPort = await freePort();
  const config = {
    node_name: 'node-j',
    state_dir: join(t.dir, 'state'),
    health: { listen: `127.0.0.1:${await freePort()}` },
    inputs: [{ name: 'node', format: 'journald', units: ['kubelet.service', 'containerd.service'], matches: ['SYSLOG_IDENTIFIER=special'], journal_dir: journalDir, ...input(t.dir) }],
    tail: { read_from: 'head', max_line_bytes: MAX_LINE, checkpoint_interval_ms: 50, rescan_interval_ms: 200 },
    // A small window: the kill -9 below lands while chunks are in flight.
    forward: { to: `tcp://127.0.0.1:${fwdPort}`, shared_key: 'none', batch_max_records: 50, max_inflight_batches: 2, flush_interval_ms: 20 },
    child: {
      command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', join(t.dir, 'out.ndjson')],
      stop_grace_s: 2,
      restart: { backoff_initial_ms: 50, backoff_max_ms: 500, stable_after_s: 5 },
    },
  };
  const out = join(t.dir, 'out.ndjson');
  const messages = (): string[] => readNdjson(out).map((r) => r.record.log);
  const start = async () => {
    const w = (scope.running = await startWarden(t.dir, config));
    await waitFor('ready', async () => (await w.get('/readyz').catch(() => ({ status: 0 }))).status === 200, 30_000);
    return w;
  };
  const cursorFile = join(config.state_dir, 'journal-node.json');
  return { dir: t.dir, journalDir, out, messages, start, cursorFile };
}

/** Every entry in the journal directory: cursor → MESSAGE, in journal order. */
function journalIndex(dir: string): Map<string, string> {
  const text = execFileSync('journalctl', [`--directory=${dir}`, '--output=json', '--all', '--no-pager'], { maxBuffer: 256 * 1024 * 1024 }).toString();
  const m = new Map<string, string>();
  for (const line of text.split('\n').filter(Boolean)) {
    const e = JSON.parse(line);
    m.set(e.__CURSOR, typeof e.MESSAGE === 'string' ? e.MESSAGE : '(bytes)');
  }
  return m;
}

const seqOf = (msg: string) => Number(msg.slice(msg.lastIndexOf('-') + 1));
const wanted = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k).filter(selected).map((i) => `m-${i}`);

function tally(messages: string[]) {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m, (counts.get(m) ?? 0) + 1);
  return { distinct: new Set(messages), dups: [...counts].filter(([, n]) => n > 1).map(([m]) => m) };
}

describe.skipIf(missing !== null)(`journald input with a real journalctl over journal files${skipNote(missing)}`, () => {
  it('delivers every selected entry across kill -9 of warden, kill -9 of journalctl and a clean restart; duplicates only after the committed cursor', async () => {
    const s = await setup();
    const N1 = 20_000;
    writeJournal(join(s.journalDir, 'a.journal'), sequence('m', 0, N1, UNITS));

    // 1. kill -9 of warden while entries are read and not acked: the receiver is stopped (SIGSTOP)
    // with chunks in flight, so what was read past the last ack must be read again after the restart.
    let w = await s.start();
    await waitFor('2000 records in the sink', () => s.messages().length >= 2000, 60_000);
    const sinkPid = (await w.json('/status')).child.pid as number;
    process.kill(sinkPid, 'SIGSTOP');
    scope.stopped = sinkPid;
    await waitFor('entries read ahead of the acks, and the cursor file up to date', async () => {
      const j = (await w.json('/status')).journal[0];
      const saved = JSON.parse(readFileSync(s.cursorFile, 'utf8')).cursor;
      return j.records > j.records_acked && saved === j.cursor_committed;
    });
    await w.kill();
    const atKill = s.messages();
    const committed = JSON.parse(readFileSync(s.cursorFile, 'utf8')).cursor as string;
    const index = journalIndex(s.journalDir);
    const committedMsg = index.get(committed);
    expect(committedMsg, 'the committed cursor names an entry of the journal').toBeDefined();
    const committedSeq = seqOf(committedMsg!);

    // Entries written while warden is down are read after the restart, from the cursor.
    const N2 = N1 + 1500;
    writeJournal(join(s.journalDir, 'b.journal'), sequence('m', N1, N2, UNITS));
    w = await s.start();
    await waitFor(`all ${wanted(0, N2).length} selected entries`, () => tally(s.messages()).distinct.size >= wanted(0, N2).length, 90_000);
    let t = tally(s.messages());
    expect([...t.distinct].sort()).toEqual(wanted(0, N2).sort());
    // Nothing at or before the committed cursor came again: duplicates are only the window after it
    // (chunks in flight, and chunks acked after the last cursor write).
    for (const m of t.dups) expect(seqOf(m), `${m} was re-sent though it was committed (cursor at m-${committedSeq})`).toBeGreaterThan(committedSeq);
    expect(t.dups.every((m) => atKill.includes(m))).toBe(true);
    const dupsAfterKill = t.dups.length;

    // 2. kill -9 of journalctl: restarted with backoff from the last entry read, nothing re-sent.
    const before = (await w.json('/status')).journal[0];
    expect(before).toMatchObject({ input: 'node', state: 'running', restarts: 0 });
    process.kill(before.pid, 'SIGKILL');
    await waitFor('journalctl restarted', async () => {
      const j = (await w.json('/status')).journal[0];
      return j.restarts === 1 && j.pid !== null && j.pid !== before.pid ? j : null;
    });
    const N3 = N2 + 600;
    writeJournal(join(s.journalDir, 'c.journal'), sequence('m', N2, N3, UNITS));
    await waitFor('entries after the journalctl restart', () => tally(s.messages()).distinct.size >= wanted(0, N3).length, 60_000);
    expect(tally(s.messages()).dups.length).toBe(dupsAfterKill);
    expect(w.stdout()).toContain('journalctl ended; starting it again after the backoff');

    // 3. A clean stop commits the cursor of the last entry; a restart sends only what is new.
    expect((await w.stop()).code).toBe(0);
    const last = JSON.parse(readFileSync(s.cursorFile, 'utf8')).cursor as string;
    expect(journalIndex(s.journalDir).get(last)).toBe(wanted(0, N3).at(-1));
    const N4 = N3 + 300;
    writeJournal(join(s.journalDir, 'd.journal'), sequence('m', N3, N4, UNITS));
    w = await s.start();
    await waitFor('entries after the clean restart', () => tally(s.messages()).distinct.size >= wanted(0, N4).length, 60_000);
    t = tally(s.messages());
    expect([...t.distinct].sort()).toEqual(wanted(0, N4).sort());
    expect(t.dups.length).toBe(dupsAfterKill);
    const status = (await w.json('/status')).journal[0];
    expect(status).toMatchObject({ input: 'node', state: 'running', skipped: 0, cursor_file: s.cursorFile });
    expect(status.cursor_committed).toMatch(/^s=[0-9a-f]+;i=/);
  }, 240_000);

  it('records: tag journal.<unit>, the journal timestamp, MESSAGE bytes decoded; an entry over max_line_bytes skipped and counted', async () => {
    const s = await setup();
    const base = 1_700_000_000_123_456;
    const entries: ExportEntry[] = [
      { realtimeUs: base, monotonicUs: 1_000_000, fields: { _SYSTEMD_UNIT: 'kubelet.service', SYSLOG_IDENTIFIER: 'kubelet', MESSAGE: 'I1201 started', PRIORITY: '6', _PID: '812' } },
      // Not UTF-8: journalctl prints it as an array of bytes.
      { realtimeUs: base + 1, monotonicUs: 1_000_001, fields: { _SYSTEMD_UNIT: 'containerd.service', MESSAGE: Buffer.from([0x62, 0x61, 0x64, 0xff, 0x21]) } },
      { realtimeUs: base + 2, monotonicUs: 1_000_002, fields: { _SYSTEMD_UNIT: 'kubelet.service', MESSAGE: 'x'.repeat(MAX_LINE * 2) } },
      // Selected by the match, not by a unit; a multi-line message.
      { realtimeUs: base + 3, monotonicUs: 1_000_003, fields: { SYSLOG_IDENTIFIER: 'special', MESSAGE: 'line one\nline two', PRIORITY: '3' } },
      { realtimeUs: base + 4, monotonicUs: 1_000_004, fields: { _SYSTEMD_UNIT: 'ssh.service', MESSAGE: 'not selected' } },
    ];
    writeJournal(join(s.journalDir, 'a.journal'), entries);
    const w = await s.start();
    await waitFor('three records', () => readNdjson(s.out).length >= 3 ? true : null);
    await waitFor('the skipped entry counted', async () => (await w.json('/status')).journal[0].skipped === 1);
    const recs = readNdjson(s.out);
    expect(recs).toEqual([
      {
        tag: 'journal.kubelet_service',
        time: '2023-11-14T22:13:20.123456000Z',
        record: { log: 'I1201 started', host: 'node-j', systemd_unit: 'kubelet.service', syslog_identifier: 'kubelet', priority: 6, pid: 812 },
      },
      { tag: 'journal.containerd_service', time: '2023-11-14T22:13:20.123457000Z', record: { log: 'bad\ufffd!', host: 'node-j', systemd_unit: 'containerd.service' } },
      { tag: 'journal.special', time: '2023-11-14T22:13:20.123459000Z', record: { log: 'line one\nline two', host: 'node-j', syslog_identifier: 'special', priority: 3 } },
    ]);
    const metrics = (await w.get('/metrics')).body;
    expect(metrics).toMatch(/warden_bytes_lost_total\{reason="journal_record_too_big"\} \d{4,}/);
    expect(w.stdout()).toContain('a journal entry longer than tail.max_line_bytes (4096) was skipped');
  }, 120_000);

  it('journal_files: journalctl reads to the end and is run again from the cursor (it cannot follow single files)', async () => {
    const s = await setup((dir) => ({ journal_dir: undefined, journal_files: [join(dir, 'node.journal')] }));
    const file = join(s.dir, 'node.journal');
    writeJournal(file, sequence('m', 0, 30, UNITS));
    const w = await s.start();
    await waitFor('the first read', () => tally(s.messages()).distinct.size >= wanted(0, 30).length);
    // systemd-journal-remote appends to an existing journal file.
    writeJournal(file, sequence('m', 30, 60, UNITS));
    await waitFor('the next read', () => tally(s.messages()).distinct.size >= wanted(0, 60).length);
    const t = tally(s.messages());
    expect([...t.distinct].sort()).toEqual(wanted(0, 60).sort());
    expect(t.dups).toEqual([]);
    expect((await w.json('/status')).journal[0]).toMatchObject({ state: 'running', restarts: 0 });
  }, 120_000);
});
