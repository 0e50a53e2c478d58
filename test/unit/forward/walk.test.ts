import { Decoder, Encoder } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { EventTime, ForwardProtocolError, concatEntries, decodeEntries, encodeEntry, encodePackedForward, encodeMessage, extensionCodec, newStreamDecoder } from '../../../agent/forward/protocol.js';
import { unpack, unpackMulti } from '../../../agent/forward/unpack.js';
import { MessageFramer, countPackedEntries, readMessages } from '../../../agent/forward/walk.js';
import { rng } from '../../../scripts/lib/util.js';

const enc = new Encoder({ extensionCodec });

/** A random msgpack value of every kind the format has, nested a few levels. */
function randomValue(next: () => number, depth: number): unknown {
  const k = Math.floor(next() * (depth > 3 ? 9 : 12));
  const len = (max: number) => Math.floor(next() * max);
  switch (k) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.floor(next() * 2 ** [7, 8, 16, 32, 53][len(5)]!) * (next() < 0.3 ? -1 : 1);
    case 3:
      return next() * 1e6;
    case 4:
      return 'x'.repeat([3, 31, 40, 300, 70_000][len(5)]!);
    case 5:
      return new Uint8Array([1, 10, 300, 70_000][len(4)]!);
    case 6:
      return new EventTime(len(2 ** 31), len(1e9));
    case 7:
      return 'é'.repeat(len(50));
    case 8:
      return len(1000);
    case 9:
      return Array.from({ length: [0, 3, 20][len(3)]! }, () => randomValue(next, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = [0, 2, 17][len(3)]!;
      for (let i = 0; i < n; i++) o[`k${i}`] = randomValue(next, depth + 1);
      return o;
    }
  }
}

function randomEntries(seed: number): { bin: Uint8Array; count: number } {
  const next = rng(seed);
  const count = 1 + Math.floor(next() * 20);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const record: Record<string, unknown> = {};
    const keys = Math.floor(next() * 20);
    for (let j = 0; j < keys; j++) record[`f${j}`] = randomValue(next, 1);
    const time = [new EventTime(1_700_000_000 + i, i), 1_700_000_000 + i, 1_700_000_000.5, 0, 200][Math.floor(next() * 5)]!;
    parts.push(enc.encode([time, record]));
  }
  return { bin: concatEntries(parts), count };
}

describe('countPackedEntries (count-only sink)', () => {
  it('counts exactly what the full decoder decodes, over 300 random entry streams of every msgpack type', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { bin, count } = randomEntries(seed);
      expect(decodeEntries(bin)).toHaveLength(count);
      expect(countPackedEntries(bin), `seed ${seed}`).toBe(count);
    }
  });

  it('counts warden’s own entries', () => {
    const bin = concatEntries([encodeEntry(1, 2, { log: 'a\n', stream: 'stdout' }), encodeEntry(3, 4, {})]);
    expect(countPackedEntries(bin)).toBe(2);
    expect(countPackedEntries(new Uint8Array(0))).toBe(0);
  });

  it('refuses every truncation of a stream, naming the entry', () => {
    const { bin } = randomEntries(7);
    const ends = new Set<number>();
    let p = 0;
    for (const e of decodeEntries(bin)) ends.add((p += enc.encode(e).length));
    for (let cut = 1; cut < bin.length; cut++) {
      if (ends.has(cut)) continue; // a whole number of entries is a valid stream
      expect(() => countPackedEntries(bin.subarray(0, cut)), `cut at ${cut}`).toThrow(ForwardProtocolError);
    }
  });

  it('refuses entries of the wrong shape as the decoding path does', () => {
    const bad: Array<[unknown, RegExp]> = [
      [['t', {}], /entry 0 time/],
      [[-1, {}], /entry 0 time/],
      [[-1.5, {}], /entry 0 time/],
      [[1, 'not a map'], /entry 0 record: expected a map/],
      [[1, [1, 2]], /entry 0 record: expected a map/],
      [[1, {}, 3], /entry 0: expected \[time, record\]/],
      [{ a: 1 }, /entry 0: expected \[time, record\]/],
    ];
    for (const [entry, msg] of bad) {
      const bin = enc.encode(entry);
      expect(() => decodeEntries(bin), JSON.stringify(entry)).toThrow(ForwardProtocolError);
      expect(() => countPackedEntries(bin), JSON.stringify(entry)).toThrow(msg);
    }
    const second = concatEntries([encodeEntry(1, 0, {}), enc.encode([1, 2])]);
    expect(() => countPackedEntries(second)).toThrow(/entry 1 record/);
  });

  it('refuses the never-used type byte 0xc1 inside a record', () => {
    const good = enc.encode([1, { a: 5 }]);
    const bad = Uint8Array.from(good);
    bad[bad.length - 1] = 0xc1;
    expect(() => countPackedEntries(bad)).toThrow(/0xc1/);
  });
});

describe('unpack (the sink\'s decoder)', () => {
  it('decodes what @msgpack/msgpack decodes, with and without raw strings, over 300 random values of every msgpack type', () => {
    for (const rawStrings of [false, true]) {
      const lib = new Decoder({ extensionCodec, rawStrings });
      for (let seed = 1; seed <= 300; seed++) {
        const bytes = enc.encode(randomValue(rng(seed), 0));
        // Compared by their encodings: a deep comparison of 70 KB byte arrays takes seconds each.
        const [ours, theirs] = [Buffer.from(enc.encode(unpack(bytes, { rawStrings }))), Buffer.from(enc.encode(lib.decode(bytes)))];
        expect(ours.equals(theirs), `seed ${seed}`).toBe(true);
      }
      const { bin } = randomEntries(3);
      const again = (values: unknown[]) => Buffer.concat(values.map((v) => enc.encode(v)));
      expect(again([...unpackMulti(bin, { rawStrings })]).equals(again([...lib.decodeMulti(bin)]))).toBe(true);
    }
  });

  it('refuses every truncation, bytes left over, 0xc1 and nesting deeper than the framer allows', () => {
    const bytes = enc.encode(randomValue(rng(5), 0));
    for (let cut = 0; cut < bytes.length; cut++) expect(() => unpack(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(ForwardProtocolError);
    expect(() => unpack(Uint8Array.of(...bytes, 0xc0))).toThrow(/bytes after the value/);
    expect(() => unpack(Uint8Array.of(0x91, 0xc1))).toThrow(/0xc1/);
    const deep = (n: number) => Uint8Array.of(...new Array<number>(n).fill(0x91), 0xc0);
    expect(unpack(deep(64))).toBeDefined();
    expect(() => unpack(deep(65))).toThrow(/deeper than 64/);
  });
});

describe('MessageFramer (sink connections)', () => {
  const messages = [
    encodePackedForward('a', concatEntries([encodeEntry(1, 2, { log: 'x'.repeat(300) }), encodeEntry(3, 4, {})]), 2, 'c1'),
    encodeMessage(['HELO', { nonce: new Uint8Array(16), auth: '', keepalive: true }]),
    encodeMessage(['b', 5, { n: 1 }, { chunk: 'c2' }]),
    encodeMessage({ ack: 'c3' }),
    encodeMessage(['c', [[1, { k: 'é' }], [2, {}]], { chunk: 'c4' }]),
  ];
  const stream = concatEntries(messages);

  it('finds the same messages whatever the chunk boundaries (every split point, and byte by byte)', async () => {
    const decoder = newStreamDecoder();
    const expected = messages.map((m) => decoder.decode(Uint8Array.from(m)));
    const cuts: number[][] = [];
    for (let i = 1; i < stream.length; i++) cuts.push([i]);
    cuts.push(Array.from({ length: stream.length - 1 }, (_, i) => i + 1));
    for (const at of cuts) {
      const chunks: Uint8Array[] = [];
      let prev = 0;
      for (const c of [...at, stream.length]) {
        chunks.push(stream.slice(prev, c));
        prev = c;
      }
      const got: unknown[] = [];
      // decoded from a copy: a message's bin is a view into the framer, valid until its next push
      for await (const m of readMessages(chunks, (b) => decoder.decode(Uint8Array.from(b)))) got.push(m);
      expect(got, `cut at ${at.length > 1 ? 'every byte' : at[0]}`).toEqual(expected);
    }
  });

  it('holds an incomplete message until its end arrives', () => {
    const f = new MessageFramer();
    f.push(stream.subarray(0, messages[0]!.length - 1));
    expect(f.next()).toBeNull();
    expect(f.pending).toBe(messages[0]!.length - 1);
    f.push(stream.subarray(messages[0]!.length - 1, messages[0]!.length));
    expect(Buffer.from(f.next()!)).toEqual(Buffer.from(messages[0]!));
    expect(f.next()).toBeNull();
    expect(f.pending).toBe(0);
  });

  it('refuses a message that grows past its limit instead of buffering without end', () => {
    const f = new MessageFramer(1024);
    // bin 32 header claiming 1 MiB: the framer can never see its end within 1 KiB
    f.push(Uint8Array.from([0x93, 0xa1, 0x74, 0xc6, 0x00, 0x10, 0x00, 0x00]));
    expect(f.next()).toBeNull();
    expect(() => {
      for (let i = 0; i < 4; i++) f.push(new Uint8Array(512));
    }).toThrow(/larger than 1024 bytes/);
  });
});
