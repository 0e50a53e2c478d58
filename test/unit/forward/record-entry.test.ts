// The sender's fast path (EntryBuffer + writeRecordEntry, the hand-framed encodePackedForward)
// must write the bytes @msgpack/msgpack writes for the same values: checked on every shared
// parser case and on random records, against the library's own Encoder.
import { Encoder } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { EntryBuffer, EventTime, decodeEntries, encodePackedForward, extensionCodec } from '../../../agent/forward/protocol.js';
import type { K8sMeta } from '../../../agent/parse/kubernetes.js';
import { packMeta, writeRecordEntry } from '../../../agent/forward/record.js';
import { buildRecord, type RecordMeta } from '../../../agent/parse/record.js';
import type { Assembled } from '../../../agent/parse/types.js';
import { cases } from '../../fixtures/parse/cases.js';
import { NASTY, randomText, rng } from '../../fixtures/parse/random.js';

const library = new Encoder({ extensionCodec, ignoreUndefined: true });
const reference = (a: Assembled, meta: RecordMeta): Buffer => Buffer.from(library.encode([new EventTime(a.sec, a.nsec), buildRecord(a, meta)]));

const k8s: K8sMeta = { namespace_name: 'kube-system', pod_name: 'coredns-5d78c9869d-abcde', pod_uid: '0b1c2d3e-0000-4000-8000-000000000001', container_name: 'coredns' };
const METAS: RecordMeta[] = [
  { k8s, dockerId: 'c0ffee'.repeat(10) + 'abcd', host: 'node-1' },
  { k8s: { ...k8s, pod_uid: '' }, dockerId: null, host: 'node-1' },
  { k8s: null, dockerId: 'deadbeef', host: 'h' },
  { k8s: null, dockerId: null, host: 'a-host-name-longer-than-thirty-two-bytes.example.internal' },
];

function fast(records: Assembled[], meta: RecordMeta, buf = new EntryBuffer(16)): Buffer {
  const packed = packMeta(meta);
  buf.reset();
  for (const a of records) writeRecordEntry(buf, a, packed);
  return Buffer.from(buf.view());
}

describe('writeRecordEntry is byte-identical to @msgpack/msgpack encoding buildRecord()', () => {
  for (const c of cases) {
    it(`parser case: ${c.name}`, () => {
      const records = c.expect;
      expect(records.length).toBeGreaterThan(0);
      for (const meta of METAS) {
        const want = Buffer.concat(records.map((a) => reference(a, meta)));
        expect(fast(records, meta).equals(want)).toBe(true);
      }
    });
  }

  it('random records: nasty text, every flag, attrs, lengths across the str header sizes', () => {
    const next = rng(20261127);
    const buf = new EntryBuffer(16); // reused, as a batch's buffer is
    const lengths = [0, 1, 10, 31, 32, 33, 200, 255, 256, 257, 5000, 65535, 65536, 70000];
    for (let i = 0; i < 600; i++) {
      const len = lengths[Math.floor(next() * lengths.length)]!;
      const filler = next() < 0.5 ? 'x' : NASTY[Math.floor(next() * NASTY.length)]!;
      const log = next() < 0.5 ? randomText(next, 80) : filler.repeat(len) + randomText(next, 4);
      const a: Assembled = { sec: Math.floor(next() * 0xffffffff), nsec: Math.floor(next() * 1e9), stream: next() < 0.1 ? randomText(next, 8) : 'stdout', log };
      if (next() < 0.3) a.partial = true;
      if (next() < 0.3) a.truncated = true;
      if (next() < 0.3) a.parse_error = true;
      if (next() < 0.3) a.time_out_of_range = true;
      if (next() < 0.3) {
        a.attrs = {};
        const n = Math.floor(next() * (next() < 0.1 ? 20 : 4));
        for (let k = 0; k < n; k++) a.attrs[randomText(next, 6)] = randomText(next, 40);
      }
      const meta = METAS[i % METAS.length]!;
      const got = fast([a], meta, buf);
      expect(got.equals(reference(a, meta)), `record ${i}: ${JSON.stringify(a).slice(0, 120)}`).toBe(true);
    }
  });

  it('a lone surrogate is sent as U+FFFD (valid UTF-8), by both paths', () => {
    const a: Assembled = { sec: 1, nsec: 2, stream: 'stdout', log: 'a\ud800b', attrs: { ['k\udc00']: 'v\ud800' } };
    const bytes = fast([a], METAS[2]!);
    expect(bytes.includes(Buffer.from('a\uFFFDb'))).toBe(true);
    const [[, rec]] = decodeEntries(bytes);
    expect(rec.log).toBe('a\uFFFDb');
    expect(rec.attrs).toStrictEqual({ 'k\uFFFD': 'v\uFFFD' });
  });
});

describe('encodePackedForward is byte-identical to @msgpack/msgpack', () => {
  it('across bin and str header sizes and count encodings', () => {
    for (const n of [0, 1, 255, 256, 65535, 65536, 100_000]) {
      for (const count of [0, 1, 127, 128, 255, 256, 65535, 65536, 4096]) {
        for (const tag of ['t', 'kubernetes.var.log.containers.' + 'p'.repeat(300), 'é😀']) {
          const entries = new Uint8Array(n).fill(0xab);
          const id = 'Zm9vYmFyYmF6cXV4cXV1eA==';
          const want = Buffer.from(library.encode([tag, entries, { size: count, chunk: id }]));
          expect(Buffer.from(encodePackedForward(tag, entries, count, id)).equals(want), `n=${n} count=${count} tag=${tag.length}`).toBe(true);
        }
      }
    }
  });
});
