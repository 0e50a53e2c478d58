// Forward senders compared: @fluent-org/logger (the fluent org's client) against warden's
// ForwardClient, both with acks and EventTime, into one `startSink({countOnly: true})` on loopback.
// Same records, same batch size (4096, warden's forward.batch_max_records) and the same window
// (8 batches in flight, forward.max_inflight_batches).
//   npx tsx scripts/bench-forward-client.ts [records]
import { EventTime as FluentEventTime, FluentClient } from '@fluent-org/logger';
import pino from 'pino';
import { ForwardClient } from '../agent/forward/client.js';
import { concatEntries, encodeEntry, newEncoder } from '../agent/forward/protocol.js';
import { startSink, type Sink } from '../agent/forward/sink.js';

const TOTAL = Number(process.argv[2] ?? 200_000);
const BATCH = 4096;
const WINDOW = 8;
const TAG = 'docker.4f3c2a1b9d8e';
const ROUNDS = 3;

/** Docker json-file-like records of about 200 bytes (as JSON), each with its own nanoseconds. */
function makeRecords(n: number): Array<{ sec: number; nsec: number; record: Record<string, unknown> }> {
  const base = 1_795_802_400;
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({
      sec: base + Math.floor(i / 1000),
      nsec: (i % 1000) * 1_000_000 + 123,
      record: {
        log: `2026-11-27T18:00:00.${String(i % 1000).padStart(3, '0')}Z INFO handled GET /api/v1/items/${i} status=200 duration_ms=${i % 97} bytes=${(i * 7) % 9000}`,
        stream: i % 5 === 0 ? 'stderr' : 'stdout',
        docker: { container_id: '4f3c2a1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a' },
      },
    });
  }
  return out;
}

async function benchFluent(sink: Sink, records: ReturnType<typeof makeRecords>): Promise<number> {
  const client = new FluentClient(undefined, {
    socket: { host: '127.0.0.1', port: sink.port! },
    eventMode: 'PackedForward',
    ack: { ackTimeout: 30_000 },
    milliseconds: true,
  });
  await client.connect();
  const start = performance.now();
  const window: Promise<unknown>[] = [];
  for (let i = 0; i < records.length; i += BATCH) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(i + BATCH, records.length); j++) {
      const r = records[j]!;
      batch.push(client.emit(TAG, r.record, new FluentEventTime(r.sec, r.nsec)));
    }
    window.push(Promise.all(batch));
    if (window.length >= WINDOW) await window.shift();
  }
  await Promise.all(window);
  const elapsed = performance.now() - start;
  await client.shutdown();
  return elapsed;
}

async function benchWarden(sink: Sink, records: ReturnType<typeof makeRecords>): Promise<number> {
  const client = new ForwardClient({
    to: sink.address,
    sharedKey: null,
    selfHostname: 'bench',
    ackTimeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    maxInflight: WINDOW,
    logger: pino({ level: 'silent' }),
  });
  client.start();
  await new Promise((r) => client.once('connected', r));
  const start = performance.now();
  const sends: Promise<void>[] = [];
  const encoder = newEncoder();
  for (let i = 0; i < records.length; i += BATCH) {
    if (!client.writable()) await new Promise((r) => client.once('drain', r));
    const parts: Uint8Array[] = [];
    const end = Math.min(i + BATCH, records.length);
    for (let j = i; j < end; j++) {
      const r = records[j]!;
      parts.push(encodeEntry(r.sec, r.nsec, r.record, encoder));
    }
    sends.push(client.send(TAG, concatEntries(parts), end - i));
  }
  await Promise.all(sends);
  const elapsed = performance.now() - start;
  await client.close();
  return elapsed;
}

const records = makeRecords(TOTAL);
const avgBytes = Math.round(records.reduce((n, r) => n + JSON.stringify(r.record).length, 0) / records.length);
const sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: '-', countOnly: true, sharedKey: null });
const best: Record<string, number> = { '@fluent-org/logger': Infinity, 'warden ForwardClient': Infinity };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of [
    ['@fluent-org/logger', benchFluent],
    ['warden ForwardClient', benchWarden],
  ] as const) {
    const before = sink.stats().records;
    const ms = await fn(sink, records);
    const got = sink.stats().records - before;
    if (got !== TOTAL) throw new Error(`${name}: sink counted ${got} records, expected ${TOTAL}`);
    best[name] = Math.min(best[name]!, ms);
  }
}
await sink.close();

const rate = (ms: number) => Math.round(TOTAL / (ms / 1000));
const fluentRate = rate(best['@fluent-org/logger']!);
console.log(`${TOTAL} records of ~${avgBytes} B (JSON), batches of ${BATCH}, ${WINDOW} in flight, acks on, best of ${ROUNDS}, Node ${process.version}`);
console.log('| sender               | ms (best) | records/s | vs @fluent-org/logger |');
console.log('|----------------------|-----------|-----------|-----------------------|');
for (const [name, ms] of Object.entries(best)) {
  console.log(`| ${name.padEnd(20)} | ${ms.toFixed(0).padStart(9)} | ${String(rate(ms)).padStart(9)} | ${(rate(ms) / fluentRate).toFixed(2).padStart(20)}x |`);
}
