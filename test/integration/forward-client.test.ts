// ForwardClient against the built-in sink and against scripted raw receivers, over real sockets on
// loopback; the restart test runs `warden sink` as a real process (dist/warden.mjs: `npm run build`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ForwardClient, ForwardClosedError, type ForwardClientOptions } from '../../agent/forward/client.js';
import { CONNECT_WARN_AFTER, STARTING_RETRY_MS } from '../../agent/forward/reconnect.js';
import { concatEntries, decodeEntries, encodeEntry, encodeMessage, newStreamDecoder, text, textify } from '../../agent/forward/protocol.js';
import { startSink, type Sink } from '../../agent/forward/sink.js';
import { createMetrics, type Metrics } from '../../agent/health/metrics.js';
import { captureLogger, counter, freePort, readNdjson, skipNote, sleep, tempDirEach, waitFor } from '../support/index.js';

const tmp = tempDirEach('warden-fwd-');
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(to: string, over: Partial<ForwardClientOptions> = {}): { c: ForwardClient; metrics: Metrics; logs: Array<Record<string, unknown>> } {
  const metrics = createMetrics({ defaults: false });
  const { logger, entries: logs } = captureLogger('debug');
  const c = new ForwardClient({
    to,
    sharedKey: null,
    selfHostname: 'test-node',
    ackTimeoutMs: 5000,
    connectTimeoutMs: 2000,
    maxInflight: 8,
    logger,
    metrics,
    reconnect: { initialMs: 20, maxMs: 200 },
    ...over,
  });
  cleanups.push(() => c.close());
  return { c, metrics, logs };
}

async function sinkAt(opts: { listen?: string; sharedKey?: string | null } = {}): Promise<{ sink: Sink; out: string }> {
  const out = join(tmp.dir, `out-${cleanups.length}.ndjson`);
  const sink = await startSink({ listen: opts.listen ?? 'tcp://127.0.0.1:0', out, sharedKey: opts.sharedKey ?? null });
  cleanups.push(() => sink.close());
  return { sink, out };
}

const value = (m: Parameters<typeof counter>[0]) => counter(m);
const lines = readNdjson;

function batch(from: number, n: number, sec = 1_795_802_400): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = from; i < from + n; i++) parts.push(encodeEntry(sec, i, { log: `line ${i}`, stream: 'stdout', seq: i }));
  return concatEntries(parts);
}


/**
 * A TCP server on 127.0.0.1:`port` (0: any free one) handing each connection to `onConnection`;
 * `close()`, and the clean-up after the test, close it and destroy the connections it still holds.
 */
async function listenTcp(onConnection: (s: Socket) => void, port = 0): Promise<{ server: Server; port: number; close: () => Promise<unknown> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const close = () => new Promise((r) => {
    server.close(r);
    sockets.forEach((s) => s.destroy());
  });
  cleanups.push(close);
  return { server, port: (server.address() as { port: number }).port, close };
}

/** Each Forward message that arrives on `s`, decoded, to `onMessage`, until the connection ends. */
function eachMessage(s: Socket, onMessage: (msg: unknown[]) => void): void {
  void (async () => {
    for await (const m of newStreamDecoder().decodeStream(s)) onMessage(m as unknown[]);
  })().catch(() => {
    // hung up
  });
}

/** The chunk id of a PackedForward message (its option `chunk`). */
const chunkOf = (msg: unknown[]) => text((textify(msg[2]) as { chunk: string }).chunk) as string;
/** The `log` of each entry of a PackedForward message. */
const logsOf = (msg: unknown[]) => decodeEntries(msg[1] as Uint8Array).map((e) => String(e[1].log));
/** Acks `msg` on `s`, as a receiver that stored it. */
const ackOn = (s: Socket, msg: unknown[]) => s.write(encodeMessage({ ack: chunkOf(msg) }));

/**
 * A scripted receiver: `onChunk(socket, chunkId, connectionIndex, entries)` decides what to do
 * with each PackedForward chunk (ack, ignore, hang up). Records every chunk id per connection.
 */
async function rawReceiver(onChunk: (s: Socket, chunk: string, conn: number, entries: Uint8Array) => void): Promise<{ server: Server; port: number; seen: string[][] }> {
  const seen: string[][] = [];
  const { server, port } = await listenTcp((s) => {
    const conn = seen.length;
    seen.push([]);
    eachMessage(s, (msg) => {
      const chunk = chunkOf(msg);
      seen[conn]!.push(chunk);
      onChunk(s, chunk, conn, msg[1] as Uint8Array);
    });
  });
  return { server, port, seen };
}

describe('ForwardClient with the sink', () => {
  it.each([['tcp'], ['unix']])('delivers chunks over %s with exact nanosecond times and counts them', async (kind) => {
    const { sink, out } = await sinkAt({ listen: kind === 'tcp' ? 'tcp://127.0.0.1:0' : `unix://${join(tmp.dir, 'fwd.sock')}` });
    const { c, metrics } = client(sink.address);
    const acks: Array<[number, number]> = [];
    c.on('ack', (ms: number, n: number) => acks.push([ms, n]));
    expect(c.lastAckAt()).toBeNull();
    c.start();
    const sends = [c.send('kube.ns.pod.app', batch(0, 3), 3), c.send('kube.ns.pod.app', batch(3, 2), 2)];
    expect(c.inflight()).toBe(2);
    expect(c.oldestPendingMs()).not.toBeNull();
    await Promise.all(sends);
    expect(c.connected).toBe(true);
    expect(c.inflight()).toBe(0);
    expect(c.oldestPendingMs()).toBeNull();
    expect(c.lastAckAt()).toBeGreaterThan(0);
    expect(acks.map((a) => a[1])).toEqual([3, 2]);
    const got = lines(out);
    expect(got.map((l) => l.record.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(got[1]).toEqual({ tag: 'kube.ns.pod.app', time: '2026-11-27T18:00:00.000000001Z', record: { log: 'line 1', stream: 'stdout', seq: 1 } });
    expect(await value(metrics.recordsSent)).toBe(5);
    expect(await value(metrics.chunksSent)).toBe(2);
    expect(await value(metrics.recordsAcked)).toBe(5);
    expect(await value(metrics.forwardConnected)).toBe(1);
    expect(await value(metrics.forwardInflight)).toBe(0);
    expect((await metrics.ackLatency.get()).values.find((v) => v.labels.le === '+Inf')?.value).toBe(2);
  });

  it('reuses acked frames: big then small chunks arrive whole, with no bytes of the earlier frame', async () => {
    const { sink, out } = await sinkAt();
    const { c } = client(sink.address, { maxInflight: 2 });
    c.start();
    const big = (from: number, n: number) =>
      concatEntries(Array.from({ length: n }, (_, i) => encodeEntry(1_780_000_000, 0, { log: 'x'.repeat(500), seq: from + i })));
    // Rounds of one big and two small chunks: each round's frames come from the previous round's.
    let seq = 0;
    for (let round = 0; round < 5; round++) {
      await c.send('t', big(seq, 300), 300);
      seq += 300;
      await Promise.all([c.send('t', batch(seq, 2), 2), c.send('t', batch(seq + 2, 1), 1)]);
      seq += 3;
    }
    const got = lines(out);
    expect(got.map((l) => l.record.seq)).toEqual(Array.from({ length: seq }, (_, i) => i));
    // One connection throughout: stray bytes after a frame would be malformed input to the sink.
    expect(sink.stats()).toMatchObject({ chunks: 15, connections: 1 });
  });

  it('runs the handshake with the right shared key; with a wrong key it never connects and close() rejects what is pending', async () => {
    const { sink, out } = await sinkAt({ sharedKey: 'right' });
    const good = client(sink.address, { sharedKey: 'right' });
    good.c.start();
    await good.c.send('t', batch(0, 1), 1);
    expect(lines(out)).toHaveLength(1);

    const bad = client(sink.address, { sharedKey: 'wrong' });
    bad.c.start();
    const pending = bad.c.send('t', batch(1, 1), 1);
    const rejected = pending.then(
      () => null,
      (e: unknown) => e,
    );
    await waitFor('two refused handshakes', () => sink.stats().authFailures >= 2, 5000);
    expect(bad.c.connected).toBe(false);
    expect(bad.logs.some((l) => /refused the handshake/.test(String(l.err)))).toBe(true);
    await bad.c.close();
    expect(await rejected).toBeInstanceOf(ForwardClosedError);
    expect(lines(out)).toHaveLength(1);
  });

  it('close({drainMs}) waits for outstanding acks; send() after close rejects', async () => {
    const { sink } = await sinkAt();
    const { c } = client(sink.address);
    c.start();
    const sent = c.send('t', batch(0, 10), 10);
    await c.close({ drainMs: 3000 });
    await expect(sent).resolves.toBeUndefined();
    expect(sink.stats().records).toBe(10);
    await expect(c.send('t', batch(0, 1), 1)).rejects.toBeInstanceOf(ForwardClosedError);
    expect(c.writable()).toBe(false);
  });

  it('is not writable at maxInflight and emits drain when an ack frees a slot', async () => {
    const held: Array<() => void> = [];
    const rx = await rawReceiver((s, chunk) => held.push(() => s.write(encodeMessage({ ack: chunk }))));
    const { c } = client(`tcp://127.0.0.1:${rx.port}`, { maxInflight: 2 });
    c.start();
    const a = c.send('t', batch(0, 1), 1);
    expect(c.writable()).toBe(true);
    const b = c.send('t', batch(1, 1), 1);
    expect(c.writable()).toBe(false);
    let drained = 0;
    c.on('drain', () => drained++);
    await waitFor('both chunks at the receiver', () => held.length === 2, 5000);
    held[0]!();
    await a;
    expect(drained).toBe(1);
    expect(c.writable()).toBe(true);
    held[1]!();
    await b;
    expect(drained).toBe(1);
  });
});

describe('ForwardClient failure handling', () => {
  it('resends the same chunk after an ack timeout, on a new connection', async () => {
    // First connection: never acks. Later connections: ack everything.
    const rx = await rawReceiver((s, chunk, conn) => {
      if (conn > 0) s.write(encodeMessage({ ack: chunk }));
    });
    const { c, metrics } = client(`tcp://127.0.0.1:${rx.port}`, { ackTimeoutMs: 200 });
    c.start();
    await c.send('t', batch(0, 2), 2);
    expect(rx.seen.length).toBeGreaterThanOrEqual(2);
    expect(rx.seen[1]).toEqual(rx.seen[0]);
    expect(await value(metrics.chunksResent)).toBe(1);
    expect(await value(metrics.chunksSent)).toBe(1);
    expect(await value(metrics.recordsSent)).toBe(4);
    expect(await value(metrics.recordsAcked)).toBe(2);
  });

  it('while the receiver holds its acks back on purpose, a chunk waits past the ack timeout on its connection: no resend, no duplicate', async () => {
    // A receiver whose buffer blocks: it has read the chunk and acks it, on the same connection,
    // only once it has room again (here: 5 ack timeouts later).
    let heldBack = true;
    const rx = await rawReceiver((s, chunk) => {
      setTimeout(() => {
        heldBack = false;
        s.write(encodeMessage({ ack: chunk }));
      }, 1000);
    });
    const { c, metrics } = client(`tcp://127.0.0.1:${rx.port}`, { ackTimeoutMs: 200, acksHeldBack: () => heldBack });
    c.start();
    await c.send('t', batch(0, 2), 2);
    expect(rx.seen).toHaveLength(1);
    expect(await value(metrics.chunksResent)).toBe(0);
    expect(await value(metrics.recordsAcked)).toBe(2);
  });

  it('reads acks that arrive one byte at a time', async () => {
    // every ack's bytes go out one at a time, acks one after another
    const queue: number[] = [];
    let dripping = false;
    const rx = await rawReceiver((s, chunk) => {
      s.setNoDelay(true);
      queue.push(...encodeMessage({ ack: chunk }));
      if (dripping) return;
      dripping = true;
      const t = setInterval(() => {
        const b = queue.shift();
        if (b === undefined || s.destroyed) {
          dripping = false;
          return clearInterval(t);
        }
        s.write(Uint8Array.of(b));
      }, 1);
    });
    const { c } = client(`tcp://127.0.0.1:${rx.port}`);
    c.start();
    await Promise.all([c.send('t', batch(0, 1), 1), c.send('t', batch(1, 1), 1), c.send('t', batch(2, 1), 1)]);
    expect(rx.seen).toHaveLength(1);
  });

  it('resends when the receiver hangs up in the middle of a chunk', async () => {
    let cut = false;
    const rx = await listenTcp((s) => {
      if (!cut) {
        // read part of the first chunk, then drop the connection
        s.once('data', () => {
          cut = true;
          s.destroy();
        });
        return;
      }
      eachMessage(s, (msg) => ackOn(s, msg));
    });
    const { c } = client(`tcp://127.0.0.1:${rx.port}`);
    const disconnects: unknown[] = [];
    c.on('disconnected', (e: unknown) => disconnects.push(e));
    c.start();
    await c.send('t', batch(0, 2000), 2000);
    expect(cut).toBe(true);
    expect(disconnects).toHaveLength(1);
  });

  it('retries a refused address with backoff (no tight loop, no unhandled error) and delivers once it listens', async () => {
    const port = await freePort();

    const { c, logs } = client(`tcp://127.0.0.1:${port}`, { reconnect: { initialMs: 20, maxMs: 100 } });
    c.start();
    const sent = c.send('t', batch(0, 5), 5);
    await sleep(600); // the window the attempts are counted over
    const attempts = logs.filter((l) => /Forward (connect failed|connection lost)/.test(String(l.msg))).length;
    // 20, 40, 80, then every ≤100 ms: about 8 in 600 ms; a tight loop would make thousands
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThan(40);
    expect(logs.some((l) => /ECONNREFUSED/.test(String(l.err)))).toBe(true);
    expect(c.connected).toBe(false);
    expect(c.oldestPendingMs()).not.toBeNull();

    const { out } = await sinkAt({ listen: `tcp://127.0.0.1:${port}` });
    await sent;
    expect(lines(out).map((l) => l.record.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('while the receiver is starting (expectReceiver) retries every STARTING_RETRY_MS, not on the long backoff, and delivers soon after it listens', async () => {
    const port = await freePort();
    const refused = (logs: Array<Record<string, unknown>>) => logs.filter((l) => /Forward connect failed/.test(String(l.msg))).length;

    // A backoff of 4–8 s after the first refusal: without expectReceiver the second attempt
    // would come long after the receiver listens.
    const slow = { reconnect: { initialMs: 8000, maxMs: 8000 } };
    const { c, logs } = client(`tcp://127.0.0.1:${port}`, slow);
    c.start();
    const sent = c.send('t', batch(0, 3), 3);
    await waitFor('the first refusal', () => refused(logs) >= 1, 5000, 5);
    c.expectReceiver(30_000); // cuts the scheduled 4–8 s wait short
    // Past CONNECT_WARN_AFTER refusals, and still no warning: the receiver is starting.
    await waitFor('more attempts at the short interval', () => refused(logs) > CONNECT_WARN_AFTER, 10_000, 5);
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([]);
    const { out } = await sinkAt({ listen: `tcp://127.0.0.1:${port}` });
    const listening = performance.now();
    await sent;
    expect(performance.now() - listening).toBeLessThan(STARTING_RETRY_MS + 2500);
    expect(lines(out).map((l) => l.record.seq)).toEqual([0, 1, 2]);

    // Once it acked the window is over: after the receiver goes away, refusals back off as configured again.
    const before = logs.length;
    await cleanups.splice(-1)[0]!(); // the sink closes
    await waitFor('a refusal after the loss', () => logs.slice(before).some((l) => /Forward connect failed/.test(String(l.msg))), 5000, 5);
    const after = logs.slice(before).find((l) => /Forward connect failed/.test(String(l.msg)))!;
    expect(after.retryInMs).toBeGreaterThanOrEqual(4000);
  });

  it('a new receiver (expectReceiver) that closes its first connection is connected to again within STARTING_RETRY_MS, whatever the backoff grew to before it', async () => {
    const port = await freePort();
    // A backoff whose every wait, even the first (1–2 s with its jitter), is far longer than
    // STARTING_RETRY_MS + 500: only the starting window can bring the next attempt that soon.
    const { c, logs } = client(`tcp://127.0.0.1:${port}`, { reconnect: { initialMs: 2000, maxMs: 8000 } });
    c.start();
    const sent = c.send('t', batch(0, 3), 3);
    // The receiver before is down: refused, the client waits out its backoff.
    await waitFor('the first refusal', () => logs.some((l) => /Forward connect failed/.test(String(l.msg))), 5000, 5);
    // The new one: like a proxy whose upstream is not up yet, it closes the first connection, then acks.
    const accepted: number[] = [];
    await listenTcp((s) => {
      accepted.push(performance.now());
      if (accepted.length === 1) return void s.destroy();
      eachMessage(s, (msg) => ackOn(s, msg));
    }, port);
    c.expectReceiver(30_000);
    await sent;
    expect(accepted.length).toBe(2);
    expect(accepted[1]! - accepted[0]!).toBeLessThan(STARTING_RETRY_MS + 500);
    const lost = logs.find((l) => l.msg === 'Forward connection lost')!;
    expect(lost.retryInMs).toBeLessThanOrEqual(STARTING_RETRY_MS);
  });

  it('stalledMs counts time connected with chunks unacked, and a wait between attempts only when the attempt after it fails too', async () => {
    const port = await freePort();
    const { c, logs } = client(`tcp://127.0.0.1:${port}`, { reconnect: { initialMs: 1000, maxMs: 1000 } });
    const refused = () => logs.filter((l) => /ECONNREFUSED/.test(String(l.err)));
    c.start();
    void c.send('t', batch(0, 1), 1).catch(() => {});
    c.expectReceiver(60_000);
    await waitFor('two refusals', () => refused().length >= 2, 5000, 5);
    expect(c.stalledMs()).toBe(0); // refused from the start: the child's ready timeout judges that
    // A receiver that takes chunks and never acks; it closes its first connection after 600 ms.
    // When each connection was accepted and the first closed, on this process's clock (the client's too).
    const accepted: number[] = [];
    let firstClosedAt = 0;
    const rx = await listenTcp((s) => {
      accepted.push(performance.now());
      s.resume();
      if (accepted.length === 1) {
        setTimeout(() => {
          firstClosedAt = performance.now();
          s.destroy();
        }, 600);
      }
    }, port);
    await waitFor('the second connection', () => accepted.length === 2 && c.connected, 10_000, 5);
    const afterWait = c.stalledMs();
    const measuredAt = performance.now();
    // Counted: the time the first connection was held and the time since the second was
    // accepted. The wait between them (STARTING_RETRY_MS) ended in a connection: not counted.
    const held = firstClosedAt - accepted[0]! + (measuredAt - accepted[1]!);
    expect(accepted[1]! - firstClosedAt).toBeGreaterThanOrEqual(STARTING_RETRY_MS - 50);
    expect(afterWait).toBeGreaterThanOrEqual(held - 50);
    expect(afterWait).toBeLessThan(held + 100);
    await sleep(400);
    // Connected again: all of the time since is counted.
    expect(c.stalledMs() - afterWait).toBeGreaterThanOrEqual(performance.now() - measuredAt - 50);
    // It goes away for good: the waits that end in refusals are counted.
    await rx.close();
    await waitFor('disconnected', () => !c.connected, 5000, 5);
    const atLoss = c.stalledMs();
    const before = refused().length;
    await waitFor('two refusals after the loss', () => refused().length >= before + 2, 10_000, 5);
    // From the loss to the second refusal, by the times logged with each.
    const lostAt = Date.parse(String(logs.filter((l) => l.msg === 'Forward connection lost').at(-1)!.time));
    const secondRefusalAt = Date.parse(String(refused()[before + 1]!.time));
    expect(secondRefusalAt - lostAt).toBeGreaterThanOrEqual(2 * STARTING_RETRY_MS - 50);
    expect(c.stalledMs() - atLoss).toBeGreaterThanOrEqual(secondRefusalAt - lostAt - 2);
    c.expectReceiver(60_000);
    expect(c.stalledMs()).toBe(0);
  });

  it('refuses a receiver that asks for a shared key when none is configured', async () => {
    const { sink } = await sinkAt({ sharedKey: 'k' });
    const { c, logs } = client(sink.address);
    c.start();
    // Without a key the client cannot know a HELO is coming: each connection counts as up until
    // it arrives. What must hold is that nothing is delivered, however often it tries.
    let acked = false;
    void c.send('t', batch(0, 1), 1).then(() => (acked = true), () => {});
    await waitFor('the refusal, twice', () => logs.filter((l) => /asks for a shared key/.test(String(l.err))).length >= 2, 10_000);
    expect(acked).toBe(false);
  });
});

describe('ForwardClient with a `warden sink` process killed and restarted', () => {
  // WARDEN_BIN: test another build of the same CLI (e.g. while dist/ cannot be rebuilt)
  const bin = process.env.WARDEN_BIN ?? join(process.cwd(), 'dist', 'warden.mjs');

  async function startProcess(port: number, out: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, [bin, 'sink', '--listen', `tcp://127.0.0.1:${port}`, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    await waitFor(`sink process to listen (stderr: ${stderr})`, () => /sink listening/.test(stderr), 5000);
    return child;
  }

  it('loses nothing: unacked chunks are sent again to the restarted receiver', async () => {
    expect(existsSync(bin), 'dist/warden.mjs missing: run `npm run build`').toBe(true);
    const port = await freePort();
    const out = join(tmp.dir, 'out.ndjson');

    let sinkProc = await startProcess(port, out);
    const { c, metrics } = client(`tcp://127.0.0.1:${port}`, { maxInflight: 4, ackTimeoutMs: 2000 });
    c.start();
    const total = 60;
    const per = 200;
    const sends: Promise<void>[] = [];
    let killed = false;
    for (let i = 0; i < total; i++) {
      if (!c.writable()) await new Promise((r) => c.once('drain', r));
      sends.push(c.send('kube.ns.pod.app', batch(i * per, per), per));
      if (i === total / 2) {
        // kill -9 with chunks in flight, then bring it back on the same port and file
        sinkProc.kill('SIGKILL');
        await new Promise((r) => sinkProc.once('exit', r));
        killed = true;
        await waitFor('the client saw the sink go', () => !c.connected, 5000);
        sinkProc = await startProcess(port, out);
      }
    }
    await Promise.all(sends);
    expect(killed).toBe(true);
    const seqs = new Set(lines(out).map((l) => l.record.seq as number));
    const missing = [];
    for (let i = 0; i < total * per; i++) if (!seqs.has(i)) missing.push(i);
    expect(missing).toEqual([]);
    expect(await value(metrics.recordsAcked)).toBe(total * per);
    expect(await value(metrics.chunksResent)).toBeGreaterThan(0);
  });
});

describe('encodeEntry output is what the sink decodes', () => {
  it('decodeEntries reads a batch built from encodeEntry', () => {
    const entries = decodeEntries(batch(7, 2));
    expect(entries.map((e) => (e[1] as { seq: number }).seq)).toEqual([7, 8]);
  });
});

describe('ForwardClient in-flight window (the budget governor lever)', () => {
  it('setMaxInflight narrows what writable() allows, at least 1, and widening it again emits drain', async () => {
    // Never started: chunks queue as pending, which is all the window counts.
    const { c } = client('tcp://127.0.0.1:1', { maxInflight: 8 });
    const sent: Promise<void>[] = [];
    const send = () => sent.push(c.send('t', batch(sent.length, 1), 1).catch(() => undefined));
    c.setMaxInflight(2);
    send();
    expect(c.writable()).toBe(true);
    send();
    expect(c.writable()).toBe(false);
    let drains = 0;
    c.on('drain', () => drains++);
    c.setMaxInflight(0);
    expect(c.writable()).toBe(false);
    c.setMaxInflight(null);
    expect(c.writable()).toBe(true);
    expect(drains).toBe(1);
    // Never above the configured maximum.
    c.setMaxInflight(100);
    for (let i = 0; i < 6; i++) send();
    expect(c.writable()).toBe(false);
    await c.close();
    await Promise.all(sent);
  });
});

describe('ForwardClient with a receiver that refuses a chunk', () => {
  /**
   * A receiver that acks every PackedForward chunk (empty ones too, as fluentd does) and hangs up,
   * without an ack, on one whose records include a `log` it refuses: what fluentd's in_forward
   * does with a message it cannot read. Keeps the records it took.
   */
  async function refusing(refuse: (log: string) => boolean): Promise<{ port: number; taken: string[]; connections: () => number }> {
    const taken: string[] = [];
    let connections = 0;
    const { port } = await listenTcp((s) => {
      connections++;
      eachMessage(s, (msg) => {
        if (s.destroyed) return;
        const logs = logsOf(msg);
        if (logs.some(refuse)) return void s.destroy();
        taken.push(...logs);
        ackOn(s, msg);
      });
    });
    return { port, taken, connections: () => connections };
  }

  const records = (from: number, logs: string[]) => concatEntries(logs.map((log, i) => encodeEntry(1_795_802_400, from + i, { log })));

  it('gives up only the record it keeps refusing: the rest of that chunk and the chunks after it are acked', async () => {
    const rx = await refusing((l) => l === 'refused');
    const { c, metrics, logs } = client(`tcp://127.0.0.1:${rx.port}`, { rejectLimit: 3 });
    c.start();
    const first = ['a0', 'a1', 'a2', 'a3', 'a4', 'refused', 'a6', 'a7'];
    const poisoned = records(0, first);
    const sends = [c.send('t', poisoned, 8, () => ({ files: [{ path: '/logs/x.log', from: 0, to: 96 }] })), c.send('t', records(8, ['b0', 'b1']), 2)];
    await Promise.all(sends);
    expect(rx.taken.sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a6', 'a7', 'b0', 'b1']);
    expect(c.inflight()).toBe(0);
    expect(await value(metrics.recordsAcked)).toBe(9);
    const refusedBytes = encodeEntry(1_795_802_400, 5, { log: 'refused' }).byteLength;
    expect(await counter(metrics.bytesLost, { reason: 'rejected' })).toBe(refusedBytes);
    const given = logs.filter((l) => /given up/.test(String(l.msg)));
    expect(given).toHaveLength(1);
    expect(given[0]).toMatchObject({ level: 'warn', tag: 't', records: 1, bytes: refusedBytes, strikes: 3, record_time: '2026-11-27T18:00:00.000000005Z', files: [{ path: '/logs/x.log', from: 0, to: 96 }] });
    // Connections: the first (nothing acked before the chunk there, so nothing known yet), 2
    // refusals of the 8 records to split them, 1 each of the halves that hold the record (4, 2),
    // 3 of the record alone, and the one that carries what is left.
    expect(rx.connections()).toBeLessThanOrEqual(1 + 2 + 2 + 3 + 1);
  });

  it('with forward.reject_limit 0 never gives up, and the same record refused again backs off', async () => {
    const rx = await refusing((l) => l === 'refused');
    const { c, metrics } = client(`tcp://127.0.0.1:${rx.port}`, { rejectLimit: 0, reconnect: { initialMs: 50, maxMs: 400 } });
    c.start();
    let settled = false;
    void c.send('t', records(0, ['ok', 'refused']), 2).then(() => (settled = true), () => {});
    await waitFor('the other record taken', () => rx.taken.includes('ok'), 5000);
    const at = rx.connections();
    await sleep(1500);
    // 50, 100, 200, 400, 400 … ms (jittered 50–100%): a handful, not a tight loop.
    expect(rx.connections() - at).toBeLessThan(15);
    expect(settled).toBe(false);
    expect(c.inflight()).toBe(1);
    expect(await counter(metrics.bytesLost, { reason: 'rejected' })).toBe(0);
  });

  const FULL = existsSync('/dev/full');
  it.skipIf(!FULL)(`a receiver that cannot store (warden sink writing to /dev/full holds the chunk unacked) loses nothing${skipNote(FULL ? null : 'no /dev/full here')}`, async () => {
    const sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: '/dev/full', sharedKey: null });
    cleanups.push(() => sink.close());
    const { c, metrics } = client(sink.address, { ackTimeoutMs: 150, rejectLimit: 1 });
    c.start();
    let settled = false;
    void c.send('t', records(0, ['kept']), 1).then(() => (settled = true), () => {});
    await waitFor('several ack timeouts', () => sink.stats().connections >= 4, 10_000);
    expect(settled).toBe(false);
    expect(c.inflight()).toBe(1);
    expect(await counter(metrics.bytesLost, { reason: 'rejected' })).toBe(0);
  });

  it('a receiver that hangs up before acking anything (a child killed, restarting) never costs a record', async () => {
    // Hangs up on every connection as soon as bytes arrive, 8 times, then takes everything.
    let cuts = 0;
    const taken: string[] = [];
    const rx = await listenTcp((s) => {
      if (cuts < 8) {
        s.once('data', () => {
          cuts++;
          s.destroy();
        });
        return;
      }
      eachMessage(s, (msg) => {
        taken.push(...logsOf(msg));
        ackOn(s, msg);
      });
    });
    const { c, metrics } = client(`tcp://127.0.0.1:${rx.port}`, { rejectLimit: 1 });
    c.start();
    await c.send('t', records(0, ['only']), 1);
    expect(cuts).toBe(8);
    expect(taken).toEqual(['only']);
    expect(await counter(metrics.bytesLost, { reason: 'rejected' })).toBe(0);
  });
});
