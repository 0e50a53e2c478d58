import { gunzipSync, gzipSync } from 'node:zlib';
import { Encoder, decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import {
  EventTime,
  ForwardAddressError,
  ForwardError,
  ForwardProtocolError,
  concatEntries,
  decodeEntries,
  encodeEntry,
  encodeMessage,
  encodePackedForward,
  extensionCodec,
  newDecoder,
  newEncoder,
  newStreamDecoder,
  parseForwardTo,
  parseHelo,
  parsePing,
  parsePong,
  pingMessage,
  pongMessage,
  newChunkId,
  sharedKeyDigest,
  textify,
  timeParts,
} from '../../../agent/forward/protocol.js';
import { ForwardAckTimeoutError, ForwardClosedError, ForwardHandshakeError } from '../../../agent/forward/client.js';

const rec = { log: 'hello world', stream: 'stdout', kubernetes: { namespace_name: 'ns', pod_name: 'p' } };

describe('newChunkId', () => {
  it('16 random bytes in base64, never the same twice across the random pool refills', () => {
    const ids = Array.from({ length: 1000 }, () => newChunkId());
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(Buffer.from(id, 'base64')).toHaveLength(16);
  });
});

describe('EventTime', () => {
  it('round-trips seconds and nanoseconds through msgpack ext type 0', () => {
    const bytes = encodeMessage(new EventTime(1_795_716_000, 123_456_789));
    // fixext 8, type 0, then big-endian seconds and nanoseconds
    expect([...bytes]).toEqual([0xd7, 0x00, 0x6b, 0x08, 0x73, 0xa0, 0x07, 0x5b, 0xcd, 0x15]);
    const back = decode(bytes, { extensionCodec });
    expect(back).toBeInstanceOf(EventTime);
    expect(back).toMatchObject({ sec: 1_795_716_000, nsec: 123_456_789 });
  });

  it('keeps the largest nanosecond value and uint32 seconds', () => {
    const back = decode(encodeEntry(0xffffffff, 999_999_999, {}), { extensionCodec }) as [EventTime, unknown];
    expect(back[0]).toMatchObject({ sec: 0xffffffff, nsec: 999_999_999 });
  });

  it('rejects an ext 0 that is not 8 bytes', () => {
    expect(() => decode(new Uint8Array([0xd6, 0x00, 1, 2, 3, 4]), { extensionCodec })).toThrow(/8 bytes/);
  });

  it('refuses a time it cannot hold instead of wrapping it (year 2200 would arrive as 2063, year 1 as 2042)', () => {
    const y2200 = 7_258_118_400; // date -u -d 2200-01-01T00:00:00Z +%s
    const y1 = -62_135_596_800; // date -u -d 0001-01-01T00:00:00Z +%s
    for (const [sec, nsec] of [[y2200, 0], [2 ** 32, 0], [-1, 999_999_999], [y1, 0], [0, 1e9], [0, -1]] as const) {
      expect(() => encodeEntry(sec, nsec, rec), `${sec}, ${nsec}`).toThrow(RangeError);
      expect(() => encodeMessage([new EventTime(sec, nsec)]), `${sec}, ${nsec}`).toThrow(RangeError);
    }
    const [[last]] = decodeEntries(encodeEntry(2 ** 32 - 1, 999_999_999, rec));
    expect(last).toEqual(new EventTime(4_294_967_295, 999_999_999));
  });

  it('splits integer and float times', () => {
    expect(timeParts(1700000000)).toEqual({ sec: 1700000000, nsec: 0 });
    expect(timeParts(1700000000.5)).toEqual({ sec: 1700000000, nsec: 500_000_000 });
    expect(timeParts(new EventTime(5, 7))).toEqual({ sec: 5, nsec: 7 });
  });
});

describe('encodeEntry', () => {
  it('is byte-identical to msgpack-encoding [EventTime, record] with the codec', () => {
    const reference = new Encoder({ extensionCodec }).encode([new EventTime(1_700_000_000, 42), rec]);
    expect(Buffer.from(encodeEntry(1_700_000_000, 42, rec)).equals(Buffer.from(reference))).toBe(true);
  });

  it('returns independent buffers though the encoder is reused', () => {
    const enc = newEncoder();
    const a = encodeEntry(1, 1, { log: 'a' }, enc);
    const b = encodeEntry(2, 2, { log: 'b'.repeat(5000) }, enc);
    expect(decodeEntries(a)[0]![1]).toEqual({ log: 'a' });
    expect((decodeEntries(b)[0]![1] as { log: string }).log).toHaveLength(5000);
  });
});

describe('event modes', () => {
  const entries = concatEntries([encodeEntry(10, 1, { n: 1 }), encodeEntry(11, 2, { n: 2 }), encodeEntry(12, 3, { n: 3 })]);

  it('PackedForward: [tag, bin(entries), {size, chunk}]', () => {
    const msg = decode(encodePackedForward('kube.a.b.c', entries, 3, 'cid'), { extensionCodec }) as [string, Uint8Array, Record<string, unknown>];
    expect(msg[0]).toBe('kube.a.b.c');
    expect(msg[2]).toEqual({ size: 3, chunk: 'cid' });
    expect(decodeEntries(msg[1]).map(([t, r]) => [timeParts(t), r])).toEqual([
      [{ sec: 10, nsec: 1 }, { n: 1 }],
      [{ sec: 11, nsec: 2 }, { n: 2 }],
      [{ sec: 12, nsec: 3 }, { n: 3 }],
    ]);
  });

  it('CompressedPackedForward: entries gzipped in several concatenated members', () => {
    const parts = [encodeEntry(10, 1, { n: 1 }), encodeEntry(11, 2, { n: 2 })];
    const gz = Buffer.concat(parts.map((p) => gzipSync(p)));
    const msg = decode(encodeMessage(['t', gz, { compressed: 'gzip', chunk: 'x' }]), { extensionCodec }) as [string, Uint8Array];
    expect(decodeEntries(gunzipSync(msg[1])).map((e) => e[1])).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('Message and Forward modes decode with EventTime intact', () => {
    const m = decode(encodeMessage(['t', new EventTime(3, 4), { a: 1 }, { chunk: 'c' }]), { extensionCodec }) as unknown[];
    expect(m[1]).toMatchObject({ sec: 3, nsec: 4 });
    const f = decode(encodeMessage(['t', [[new EventTime(5, 6), { b: 2 }], [7, { c: 3 }]]]), { extensionCodec }) as [string, unknown[][]];
    expect(f[1][0]![0]).toMatchObject({ sec: 5, nsec: 6 });
    expect(f[1][1]).toEqual([7, { c: 3 }]);
  });

  it('the stream decoder keeps str as bytes (fluentd sends entries as str 32) and textify restores text', () => {
    // str 32 header around the entries, as fluentd's out_forward writes it
    const head = Buffer.from([0x93, 0xa1, 0x74, 0xdb, 0, 0, 0, 0]);
    head.writeUInt32BE(entries.byteLength, 4);
    const bytes = Buffer.concat([head, entries, encodeMessage({ chunk: 'z' })]);
    const msg = newStreamDecoder().decode(bytes) as unknown[];
    expect(msg[1]).toBeInstanceOf(Uint8Array);
    expect(decodeEntries(msg[1] as Uint8Array)).toHaveLength(3);
    expect(textify(msg[0])).toBe('t');
    expect(textify(msg[2])).toEqual({ chunk: 'z' });
  });

  it('rejects entries that are not [time, map], naming the entry', () => {
    const bad = concatEntries([encodeEntry(1, 1, { ok: 1 }), encodeMessage(['nope', { a: 1 }])]);
    expect(() => decodeEntries(bad)).toThrow(ForwardProtocolError);
    expect(() => decodeEntries(bad)).toThrow(/entry 1 time/);
    expect(() => decodeEntries(encodeMessage([1, [1, 2]]))).toThrow(/entry 0 record: expected a map/);
  });

  it('a truncated entries stream is an error, not a silent short read', () => {
    expect(() => decodeEntries(entries.subarray(0, entries.byteLength - 2))).toThrow();
  });
});

describe('handshake', () => {
  it('digest is sha512_hex(salt + hostname + nonce + shared_key) (known answer)', () => {
    expect(sharedKeyDigest('salt1', 'node-a', 'nonce1', 'secret')).toBe(
      '1ca49347b18092e6d5e50168c87ea6d6c4f1203b0e8518800e1d0bcd8a7bb3b8dde20d89be05884675167bbd642d181fc6d6b75c8d28890a647a45c99ba2d958',
    );
    // bytes and the same bytes as a string hash alike
    expect(sharedKeyDigest(Buffer.from('salt1'), 'node-a', new Uint8Array(Buffer.from('nonce1')), 'secret')).toBe(sharedKeyDigest('salt1', 'node-a', 'nonce1', 'secret'));
  });

  it('PING and PONG round-trip through the stream decoder with a binary nonce', () => {
    const nonce = new Uint8Array([0xff, 0x00, 0x80, 0x7f]);
    const helo = parseHelo(newStreamDecoder().decode(encodeMessage(['HELO', { nonce, auth: '', keepalive: true }])));
    expect(helo?.nonce).toEqual(nonce);
    const ping = parsePing(newStreamDecoder().decode(encodeMessage(pingMessage('client', 'abc', helo!.nonce, 'k'))));
    expect(ping.hostname).toBe('client');
    expect(ping.digest).toBe(sharedKeyDigest('abc', 'client', nonce, 'k'));
    const pong = parsePong(newStreamDecoder().decode(encodeMessage(pongMessage(true, '', 'server', ping.salt, nonce, 'k'))));
    expect(pong).toEqual({ ok: true, reason: '', hostname: 'server', digest: sharedKeyDigest('abc', 'server', nonce, 'k') });
  });

  it('parseHelo ignores other messages and rejects a HELO without nonce', () => {
    expect(parseHelo(newDecoder().decode(encodeMessage({ ack: 'x' })))).toBeNull();
    expect(() => parseHelo(['HELO', { auth: '' }])).toThrow(/nonce/);
    expect(() => parsePong(['PONG', 'yes'])).toThrow(/expected PONG/);
  });
});

describe('parseForwardTo', () => {
  it.each([
    ['tcp://127.0.0.1:24224', { kind: 'tcp', host: '127.0.0.1', port: 24224 }],
    ['tcp://fluentd.local:0', { kind: 'tcp', host: 'fluentd.local', port: 0 }],
    ['tcp://[::1]:24224', { kind: 'tcp', host: '::1', port: 24224 }],
    ['unix:///var/run/warden/fwd.sock', { kind: 'unix', path: '/var/run/warden/fwd.sock' }],
  ])('%s', (s, want) => {
    expect(parseForwardTo(s)).toEqual(want);
  });

  it.each(['127.0.0.1:24224', 'tcp://host', 'tcp://host:99999', 'unix://relative.sock', 'http://x:1', ''])('rejects %j naming the value', (s) => {
    expect(() => parseForwardTo(s)).toThrow(ForwardAddressError);
    expect(() => parseForwardTo(s)).toThrow(JSON.stringify(s));
  });
});

describe('errors', () => {
  it('every failure the protocol reports is a ForwardError that names its kind', () => {
    const caught: unknown[] = [];
    for (const fail of [() => decodeEntries(encodeMessage(['not', 'an', 'entry'])), () => parseForwardTo('http://x:1'), () => parsePong(['PONG', 'yes'])]) {
      try {
        fail();
      } catch (err) {
        caught.push(err);
      }
    }
    expect(caught.map((e) => [e instanceof ForwardError, (e as Error).name])).toEqual([
      [true, 'ForwardProtocolError'],
      [true, 'ForwardAddressError'],
      [true, 'ForwardProtocolError'],
    ]);
  });

  it('the client-side errors share the base', () => {
    for (const E of [ForwardClosedError, ForwardHandshakeError, ForwardAckTimeoutError]) {
      const e = new E('m');
      expect(e).toBeInstanceOf(ForwardError);
      expect(e.name).toBe(E.name);
    }
  });
});

describe('encoders', () => {
  it('encodeEntry gives the same bytes with a fresh encoder and with a reused one', () => {
    const enc = newEncoder();
    const big = { log: 'x'.repeat(5000), n: 1 };
    const first = encodeEntry(1, 2, big, enc);
    const second = encodeEntry(3, 4, rec, enc);
    expect(Buffer.from(first)).toEqual(Buffer.from(encodeEntry(1, 2, big)));
    expect(Buffer.from(second)).toEqual(Buffer.from(encodeEntry(3, 4, rec)));
    expect(decodeEntries(concatEntries([first, second])).map(([t]) => (t as EventTime).sec)).toEqual([1, 3]);
  });
});
