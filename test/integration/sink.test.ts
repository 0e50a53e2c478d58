// The built-in Forward receiver, driven with raw bytes from real sockets on loopback, and the
// `warden sink` command as a real process (dist/warden.mjs: run `npm run build` first).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EventTime,
  concatEntries,
  encodeEntry,
  encodeMessage,
  encodePackedForward,
  newStreamDecoder,
  parseHelo,
  parsePong,
  pingMessage,
  text,
  textify,
} from '../../agent/forward/protocol.js';
import { formatTime, startSink, type Sink } from '../../agent/forward/sink.js';
import { skipNote, waitFor } from '../support/index.js';

let dir: string;
let sink: Sink | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-sink-'));
});
afterEach(async () => {
  await sink?.close();
  sink = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A raw Forward peer: writes bytes, collects decoded answers, knows when it was closed. */
class Peer {
  readonly replies: unknown[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    void (async () => {
      try {
        for await (const m of newStreamDecoder().decodeStream(socket)) {
          // HELO keeps its nonce as raw bytes; everything else is compared as text
          this.replies.push(Array.isArray(m) && text(m[0]) === 'HELO' ? m : textify(m));
          this.wake();
        }
      } catch {
        // closed under us
      }
    })();
  }
  static open(address: string): Promise<Peer> {
    const m = /^tcp:\/\/(.+):(\d+)$/.exec(address);
    const socket = m ? connect({ host: m[1]!, port: Number(m[2]) }) : connect({ path: address.slice('unix://'.length) });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new Peer(socket)));
      socket.once('error', reject);
    });
  }
  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }
  async until(cond: () => boolean, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out; replies=${JSON.stringify(this.replies)} closed=${this.closed}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
}

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('sink modes', () => {
  it('writes PackedForward records as NDJSON with exact nanosecond times, then acks', async () => {
    const out = join(dir, 'nested', 'out.ndjson');
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out, sharedKey: null });
    expect(sink.port).toBeGreaterThan(0);
    const peer = await Peer.open(sink.address);
    const sec = Date.UTC(2026, 10, 27, 18, 0, 0) / 1000;
    const entries = concatEntries([encodeEntry(sec, 123_456_789, { log: 'a', stream: 'stdout' }), encodeEntry(sec, 5, { log: 'b' })]);
    peer.send(encodePackedForward('kube.ns.pod.c', entries, 2, 'chunk-1'));
    await peer.until(() => peer.replies.length === 1);
    expect(peer.replies[0]).toEqual({ ack: 'chunk-1' });
    expect(lines(out)).toEqual([
      { tag: 'kube.ns.pod.c', time: '2026-11-27T18:00:00.123456789Z', record: { log: 'a', stream: 'stdout' } },
      { tag: 'kube.ns.pod.c', time: '2026-11-27T18:00:00.000000005Z', record: { log: 'b' } },
    ]);
    expect(sink.stats()).toMatchObject({ records: 2, chunks: 1, connections: 1, authFailures: 0 });
  });

  it('accepts Message, Forward, CompressedPackedForward (several gzip members) and str-packed entries over a unix socket', async () => {
    const out = join(dir, 'out.ndjson');
    sink = await startSink({ listen: `unix://${join(dir, 'run', 'fwd.sock')}`, out, sharedKey: null });
    expect(sink.address).toBe(`unix://${join(dir, 'run', 'fwd.sock')}`);
    const peer = await Peer.open(sink.address);
    peer.send(encodeMessage(['m.tag', new EventTime(1_800_000_000, 1), { kind: 'message' }, { chunk: 'm1' }]));
    peer.send(encodeMessage(['f.tag', [[new EventTime(1_800_000_001, 2), { kind: 'forward' }], [1_800_000_002, { kind: 'int time' }]], { chunk: 'f1' }]));
    const gz = Buffer.concat([gzipSync(encodeEntry(1_800_000_003, 3, { kind: 'gz1' })), gzipSync(encodeEntry(1_800_000_004, 4, { kind: 'gz2' }))]);
    peer.send(encodeMessage(['c.tag', gz, { chunk: 'c1', compressed: 'gzip', size: 2 }]));
    // fluentd's out_forward writes the entries as str 32
    const entries = encodeEntry(1_800_000_005, 5, { kind: 'str' });
    const head = Buffer.from([0x93, 0xa5, ...Buffer.from('s.tag'), 0xdb, 0, 0, 0, 0]);
    head.writeUInt32BE(entries.byteLength, head.length - 4);
    peer.send(Buffer.concat([head, entries, encodeMessage({ chunk: 's1' })]));
    // Message mode without an option: written, nothing to ack
    peer.send(encodeMessage(['m.tag', 1_800_000_006, { kind: 'no ack' }]));
    await peer.until(() => peer.replies.length === 4 && sink!.stats().records === 7);
    expect(peer.replies).toEqual([{ ack: 'm1' }, { ack: 'f1' }, { ack: 'c1' }, { ack: 's1' }]);
    expect(lines(out).map((l) => [l.tag, l.time, l.record.kind])).toEqual([
      ['m.tag', '2027-01-15T08:00:00.000000001Z', 'message'],
      ['f.tag', '2027-01-15T08:00:01.000000002Z', 'forward'],
      ['f.tag', '2027-01-15T08:00:02.000000000Z', 'int time'],
      ['c.tag', '2027-01-15T08:00:03.000000003Z', 'gz1'],
      ['c.tag', '2027-01-15T08:00:04.000000004Z', 'gz2'],
      ['s.tag', '2027-01-15T08:00:05.000000005Z', 'str'],
      ['m.tag', '2027-01-15T08:00:06.000000000Z', 'no ack'],
    ]);
  });

  it('appends to an existing output file', async () => {
    const out = join(dir, 'out.ndjson');
    execFileSync('sh', ['-c', `echo '{"old":1}' > ${out}`]);
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out, sharedKey: null });
    const peer = await Peer.open(sink.address);
    peer.send(encodeMessage(['t', 1, { n: 1 }, { chunk: 'a' }]));
    await peer.until(() => peer.replies.length === 1);
    expect(lines(out)).toEqual([{ old: 1 }, { tag: 't', time: '1970-01-01T00:00:01.000000000Z', record: { n: 1 } }]);
  });

  it('cuts an unfinished last line (a sink killed in the middle of a write) before appending, so the next record is a line of its own', async () => {
    const out = join(dir, 'out.ndjson');
    // A whole line, then the first bytes of one whose write was cut short, longer than one read block.
    writeFileSync(out, `{"old":1}\n{"tag":"t","time":"1970-01-01T00:00:01.000000000Z","record":{"log":"${'x'.repeat(100_000)}`);
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out, sharedKey: null });
    const peer = await Peer.open(sink.address);
    peer.send(encodeMessage(['t', 2, { n: 2 }, { chunk: 'a' }]));
    await peer.until(() => peer.replies.length === 1);
    expect(lines(out)).toEqual([{ old: 1 }, { tag: 't', time: '1970-01-01T00:00:02.000000000Z', record: { n: 2 } }]);
  });

  it('writes into a FIFO whose reader is already waiting, and leaves that reader open (nothing to cut in a FIFO)', async () => {
    const fifo = join(dir, 'out.fifo');
    const copy = join(dir, 'copy.ndjson');
    execFileSync('mkfifo', [fifo]);
    // A reader in another process, blocked in its open until a writer comes (as the bench's is).
    const reader = spawn('sh', ['-c', `exec cat ${JSON.stringify(fifo)} > ${JSON.stringify(copy)}`], { stdio: 'ignore' });
    let ended = false;
    reader.once('exit', () => (ended = true));
    try {
      await waitFor('the reader waiting on the FIFO', () => existsSync(copy), 5000);
      sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: fifo, sharedKey: null });
      const peer = await Peer.open(sink.address);
      peer.send(encodeMessage(['t', 3, { n: 3 }, { chunk: 'a' }]));
      await peer.until(() => peer.replies.length === 1);
      await waitFor('the record through the FIFO', () => readFileSync(copy, 'utf8').includes('"n":3'), 5000);
      expect(ended).toBe(false);
      expect(JSON.parse(readFileSync(copy, 'utf8').trim())).toEqual({ tag: 't', time: '1970-01-01T00:00:03.000000000Z', record: { n: 3 } });
    } finally {
      reader.kill('SIGKILL');
    }
  });

  it('cuts an output without any newline whole, and leaves one that ends in a newline as it is', async () => {
    const partial = join(dir, 'partial.ndjson');
    writeFileSync(partial, '{"tag":"t","ti');
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: partial, sharedKey: null });
    await sink.close();
    expect(readFileSync(partial, 'utf8')).toBe('');
    const whole = join(dir, 'whole.ndjson');
    writeFileSync(whole, '{"old":1}\n');
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: whole, sharedKey: null });
    await sink.close();
    expect(readFileSync(whole, 'utf8')).toBe('{"old":1}\n');
  });

  it('closes the connection on CompressedPackedForward entries that gunzip past the message bound, writing and acking none', async () => {
    const out = join(dir, 'out.ndjson');
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out, sharedKey: null, maxMessageBytes: 1024 * 1024 });
    const peer = await Peer.open(sink.address);
    // 2,000 records of 1 KiB each: 2 MiB of entries, a few KiB as gzip.
    const entries = concatEntries(Array.from({ length: 2000 }, (_, i) => encodeEntry(1_800_000_000 + i, 0, { log: 'x'.repeat(1024) })));
    const gz = gzipSync(entries);
    expect(gz.byteLength).toBeLessThan(64 * 1024);
    peer.send(encodeMessage(['big', gz, { chunk: 'z1', compressed: 'gzip', size: 2000 }]));
    await peer.until(() => peer.closed);
    expect(peer.replies).toEqual([]);
    expect(sink.stats().records).toBe(0);
    expect(existsSync(out) ? readFileSync(out, 'utf8') : '').toBe('');
  });

  it('refuses to start when the output cannot be created, naming it', async () => {
    const blocker = join(dir, 'a-file');
    execFileSync('touch', [blocker]);
    await expect(startSink({ listen: 'tcp://127.0.0.1:0', out: join(blocker, 'out.ndjson'), sharedKey: null })).rejects.toThrow(blocker);
  });

  it('count-only writes nothing and counts', async () => {
    const out = join(dir, 'never.ndjson');
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out, countOnly: true, sharedKey: null });
    const peer = await Peer.open(sink.address);
    peer.send(encodePackedForward('t', concatEntries([encodeEntry(1, 1, {}), encodeEntry(1, 2, {})]), 2, 'x'));
    await peer.until(() => peer.replies.length === 1);
    expect(sink.stats().records).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});

describe('sink map keys', () => {
  it('takes any key fluentd takes, __proto__, constructor and prototype included, in every mode, and writes them through unchanged', async () => {
    const out = join(dir, 'out.ndjson');
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out, sharedKey: null });
    const peer = await Peer.open(sink.address);
    // JSON.parse makes "__proto__" an own key; the encoder then writes it like any other.
    const record = JSON.parse('{"log":"x","__proto__":{"polluted":"yes"},"constructor":"c","prototype":{"__proto__":"inner"},"attrs":{"__proto__":"a"}}');
    const entries = concatEntries([encodeEntry(1_800_000_000, 0, record), encodeEntry(1_800_000_000, 1, record)]);
    peer.send(encodePackedForward('p.tag', entries, 2, 'p1'));
    peer.send(encodeMessage(['m.tag', 1_800_000_000, record, { chunk: 'm1' }]));
    peer.send(encodeMessage(['f.tag', [[1_800_000_000, record]], { chunk: 'f1' }]));
    peer.send(encodeMessage(['c.tag', gzipSync(encodeEntry(1_800_000_000, 2, record)), { chunk: 'c1', compressed: 'gzip' }]));
    // Keys that are not strings (Ruby takes them too): named as a JSON output of them would.
    const odd = Buffer.concat([Buffer.from([0x94, 0xa5, ...Buffer.from('o.tag'), 0xce, 0x6b, 0x49, 0xd2, 0x00, 0x84]), Buffer.from([0x07, 0xa1, 0x61, 0xc0, 0xa1, 0x62, 0xc3, 0xa1, 0x63, 0xc4, 0x01, 0x64, 0xa1, 0x65]), encodeMessage({ chunk: 'o1' })]);
    peer.send(odd);
    await peer.until(() => peer.replies.length === 5);
    expect(peer.replies).toEqual([{ ack: 'p1' }, { ack: 'm1' }, { ack: 'f1' }, { ack: 'c1' }, { ack: 'o1' }]);
    expect(peer.closed).toBe(false);
    const text = readFileSync(out, 'utf8').trim().split('\n');
    expect(text).toHaveLength(6);
    const expected = '{"log":"x","__proto__":{"polluted":"yes"},"constructor":"c","prototype":{"__proto__":"inner"},"attrs":{"__proto__":"a"}}';
    for (const l of text.slice(0, 5)) expect(l.slice(l.indexOf('"record":') + 9, -1)).toBe(expected);
    expect(JSON.parse(text[5]!).record).toEqual({ '7': 'a', '': 'b', true: 'c', d: 'e' });
    // Nothing was assigned through a prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });
});

describe('sink acks only after the write', () => {
  it('holds the ack while the output (a FIFO nobody reads yet) cannot take the lines', async () => {
    const fifo = join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: fifo, sharedKey: null });
    const peer = await Peer.open(sink.address);
    peer.send(encodeMessage(['t', 1, { n: 'held' }, { chunk: 'held' }]));
    await new Promise((r) => setTimeout(r, 400));
    expect(peer.replies).toEqual([]);
    const reader = createReadStream(fifo, { encoding: 'utf8' });
    let got = '';
    reader.on('data', (d) => (got += d));
    await peer.until(() => peer.replies.length === 1);
    expect(peer.replies).toEqual([{ ack: 'held' }]);
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toContain('"held"');
    await sink.close();
    sink = null;
    reader.destroy();
  });
});

describe('sink with an output that fails', () => {
  const FULL = existsSync('/dev/full');
  it.skipIf(!FULL)(`keeps the connection open and acks nothing more on it: a full disk is not the sender's chunk being refused${skipNote(FULL ? null : 'no /dev/full here')}`, async () => {
    const logs: string[] = [];
    const logger = (await import('pino')).default({ level: 'info' }, { write: (s: string) => logs.push(s) });
    // Every write to /dev/full fails with ENOSPC.
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: '/dev/full', sharedKey: null, logger });
    const errorsLogged = () => logs.filter((l) => JSON.parse(l).level === 50).length;
    for (let conn = 0; conn < 2; conn++) {
      const peer = await Peer.open(sink.address);
      peer.send(encodeMessage(['t', 1, { n: 1 }, { chunk: 'a' }]));
      peer.send(encodePackedForward('t', encodeEntry(1, 0, { n: 2 }), 1, 'b'));
      // The write failed (logged); then a while for a close or an ack that must not follow it.
      await waitFor(`the write of connection ${conn} failed`, () => errorsLogged() === conn + 1, 10_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(peer.replies).toEqual([]);
      expect(peer.closed, `connection ${conn}`).toBe(false);
      peer.socket.destroy();
    }
    const errors = logs.map((l) => JSON.parse(l)).filter((l) => l.level === 50);
    expect(errors.map((e) => e.msg)).toEqual(['sink cannot write its output; no more acks on this connection', 'sink cannot write its output; no more acks on this connection']);
    expect(errors[0].err).toMatch(/\/dev\/full.*ENOSPC|no space/i);
  });
});

describe('sink robustness', () => {
  it('closes only the connection that sent malformed bytes and keeps serving others', async () => {
    const out = join(dir, 'out.ndjson');
    const logs: string[] = [];
    const logger = (await import('pino')).default({ level: 'info' }, { write: (s: string) => logs.push(s) });
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out, sharedKey: null, logger });
    const good = await Peer.open(sink.address);
    const cases: Array<[string, Uint8Array]> = [
      ['not msgpack', Buffer.from([0xc1, 0xc1, 0xc1])],
      ['wrong shape', encodeMessage({ hello: 'world' })],
      ['bad entries', encodeMessage(['t', Buffer.from([0x92, 0x01]), { chunk: 'x' }])],
      ['bad gzip', encodeMessage(['t', Buffer.from('not gzip'), { compressed: 'gzip', chunk: 'x' }])],
      ['record not a map', encodeMessage(['t', 1, 'string record', { chunk: 'x' }])],
    ];
    for (const [name, bytes] of cases) {
      const bad = await Peer.open(sink.address);
      bad.send(bytes);
      await bad.until(() => bad.closed).catch(() => {
        throw new Error(`${name}: connection not closed`);
      });
      expect(bad.replies, name).toEqual([]);
    }
    good.send(encodeMessage(['t', 1, { still: 'served' }, { chunk: 'ok' }]));
    await good.until(() => good.replies.length === 1);
    expect(good.closed).toBe(false);
    expect(lines(out)).toEqual([{ tag: 't', time: '1970-01-01T00:00:01.000000000Z', record: { still: 'served' } }]);
    const errors = logs.map((l) => JSON.parse(l)).filter((l) => l.level === 50);
    expect(errors.map((e) => e.err), JSON.stringify(errors)).toHaveLength(cases.length);
    expect(errors.map((e) => e.err).join('\n')).toMatch(/gzip/);
  });
});

describe('sink handshake', () => {
  async function handshake(address: string, key: string) {
    const peer = await Peer.open(address);
    await peer.until(() => peer.replies.length === 1);
    const helo = parseHelo(peer.replies[0])!;
    expect(helo.nonce).toBeInstanceOf(Uint8Array);
    peer.send(encodeMessage(pingMessage('client-host', 'salt-1', helo.nonce, key)));
    await peer.until(() => peer.replies.length === 2);
    return { peer, pong: parsePong(peer.replies[1]) };
  }

  it('accepts the right key, refuses and closes a wrong one, counting it', async () => {
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: join(dir, 'o'), sharedKey: 'k1', hostname: 'sink-host' });
    const ok = await handshake(sink.address, 'k1');
    expect(ok.pong.ok).toBe(true);
    expect(ok.pong.hostname).toBe('sink-host');
    ok.peer.send(encodeMessage(['t', 1, { a: 1 }, { chunk: 'c' }]));
    await ok.peer.until(() => ok.peer.replies.length === 3);
    expect(ok.peer.replies[2]).toEqual({ ack: 'c' });

    const bad = await handshake(sink.address, 'wrong');
    expect(bad.pong.ok).toBe(false);
    await bad.peer.until(() => bad.peer.closed);
    expect(sink.stats()).toMatchObject({ authFailures: 1, records: 1 });
  });

  it('does not take records before the handshake', async () => {
    sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: join(dir, 'o'), sharedKey: 'k1' });
    const peer = await Peer.open(sink.address);
    peer.send(encodeMessage(['t', 1, { a: 1 }, { chunk: 'c' }]));
    await peer.until(() => peer.closed);
    expect(peer.replies.map((r) => text((r as unknown[])[0]))).toEqual(['HELO']);
    expect(sink.stats().records).toBe(0);
  });
});

describe('formatTime', () => {
  it.each([
    [new EventTime(0, 0), '1970-01-01T00:00:00.000000000Z'],
    [new EventTime(1_795_802_400, 123_456_789), '2026-11-27T18:00:00.123456789Z'],
    [new EventTime(1_795_802_400, 999_999_999), '2026-11-27T18:00:00.999999999Z'],
    [1_795_802_401.25, '2026-11-27T18:00:01.250000000Z'],
  ])('%o → %s', (t, want) => {
    expect(formatTime(t)).toBe(want);
  });
});

describe('warden sink (process)', () => {
  // WARDEN_BIN: test another build of the same CLI (e.g. while dist/ cannot be rebuilt)
  const bin = process.env.WARDEN_BIN ?? join(process.cwd(), 'dist', 'warden.mjs');
  let child: ChildProcess | null = null;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = null;
  });

  it('survives SIGUSR1, SIGUSR2 and SIGHUP, prints stats, exits 0 on SIGTERM', async () => {
    expect(existsSync(bin), 'dist/warden.mjs missing: run `npm run build`').toBe(true);
    const out = join(dir, 'out.ndjson');
    child = spawn(process.execPath, [bin, 'sink', '--listen', 'tcp://127.0.0.1:0', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<[number | null, string | null]>((r) => child!.once('exit', (c, s) => r([c, s])));
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 5000;
      while (!re.test(stderr)) {
        if (Date.now() > deadline) throw new Error(`no ${re} in stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(/sink listening/);
    const listening = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'sink listening');
    expect(listening.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const peer = await Peer.open(listening.address);
    peer.send(encodeMessage(['t', 1, { a: 1 }, { chunk: 'p' }]));
    await peer.until(() => peer.replies.length === 1);

    child.kill('SIGUSR2');
    await until(/sink stats/);
    child.kill('SIGUSR1');
    child.kill('SIGHUP');
    await until(/ignores SIGHUP/);
    const stats = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'sink stats');
    expect(stats.stats).toMatchObject({ records: 1, chunks: 1, connections: 1 });
    expect(child.exitCode).toBeNull();

    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    expect(lines(out)).toHaveLength(1);
  });

  it('count-only prints final stats on stdout', async () => {
    expect(existsSync(bin), 'dist/warden.mjs missing: run `npm run build`').toBe(true);
    child = spawn(process.execPath, [bin, 'sink', '--listen', `unix://${join(dir, 's.sock')}`, '--count-only'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    const deadline = Date.now() + 5000;
    while (!/sink listening/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const peer = await Peer.open(`unix://${join(dir, 's.sock')}`);
    peer.send(encodePackedForward('t', concatEntries([encodeEntry(1, 1, {}), encodeEntry(1, 2, {}), encodeEntry(1, 3, {})]), 3, 'c'));
    await peer.until(() => peer.replies.length === 1);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(JSON.parse(stdout.trim())).toEqual({ records: 3, chunks: 1, connections: 1, authFailures: 0 });
    expect(existsSync(join(dir, 's.sock'))).toBe(false);
  });
});
