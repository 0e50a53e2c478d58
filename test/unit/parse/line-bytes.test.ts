// The byte paths for the common docker and CRI lines (parseDockerBytes, parseCriBytes, then
// writeLineBytesEntry) must agree exactly with the string paths (parseDocker / parseCri, then
// writeRecordEntry) wherever they accept a line, and decline everything else: checked on the
// shared parser cases, hand-picked near misses, random mutations of real lines and random bytes.
import { describe, expect, it } from 'vitest';
import { EntryBuffer } from '../../../agent/forward/protocol.js';
import { newLineBytes, type LineBytes } from '../../../agent/parse/bytes.js';
import { parseCri, parseCriBytes } from '../../../agent/parse/cri.js';
import { parseDocker, parseDockerBytes } from '../../../agent/parse/docker.js';
import { packMeta, writeLineBytesEntry, writeRecordEntry } from '../../../agent/forward/record.js';
import type { Fragment } from '../../../agent/parse/types.js';
import { cases, NOW } from '../../fixtures/parse/cases.js';
import { mutate, randomText, rng } from '../../fixtures/parse/random.js';

const meta = packMeta({ k8s: null, dockerId: 'c0ffee'.repeat(10) + 'abcd', host: 'node-1' });
const scratch = (): LineBytes => newLineBytes();

type Format = 'docker' | 'cri';
const byBytes: Record<Format, (b: Buffer, s: number, e: number, out: LineBytes) => boolean> = { docker: parseDockerBytes, cri: parseCriBytes };
const byString: Record<Format, (line: string, sec: number, nsec: number) => Fragment> = { docker: parseDocker, cri: parseCri };

let calls = 0;

/**
 * What the byte path writes for `line`, or null where it declines. Bytes sit inside a larger
 * buffer, as in a read, starting at each of the four positions within a 32-bit word in turn
 * (the docker scan reads aligned words).
 */
function viaBytes(line: string | Buffer, format: Format = 'docker'): Buffer | null {
  const body = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  const pad = 5 + (calls++ % 4);
  const data = Buffer.allocUnsafeSlow(pad + body.length + 5);
  data.write(`${'x'.repeat(pad - 1)}\n`, 0, 'latin1');
  body.copy(data, pad);
  data.write('\nmore', pad + body.length, 'latin1');
  const d = scratch();
  if (!byBytes[format](data, pad, pad + body.length, d)) return null;
  const out = new EntryBuffer(16);
  writeLineBytesEntry(out, data, d, meta);
  return Buffer.from(out.view());
}

/** What the string path writes for `line` when it is one whole record, else null. */
function viaString(line: string, format: Format): Buffer | null {
  const f = byString[format](line, NOW.sec, NOW.nsec);
  if (f.partial || f.parseError || f.attrs || f.tags) return null;
  const out = new EntryBuffer(16);
  writeRecordEntry(out, { sec: f.sec, nsec: f.nsec, stream: f.stream, log: f.content }, meta);
  return Buffer.from(out.view());
}

/** `line` as the pipeline reads it: bytes, decoded as UTF-8 only on the string path. */
function agree(line: string | Buffer, format: Format = 'docker'): boolean {
  const b = viaBytes(line, format);
  if (b === null) return false;
  const s = viaString(typeof line === 'string' ? line : line.toString('utf8'), format);
  expect(s, `string path disagrees on ${JSON.stringify(line.toString())}`).not.toBeNull();
  expect(b.equals(s!), `bytes differ for ${JSON.stringify(line.toString())}`).toBe(true);
  return true;
}

/** Printable ASCII, the byte path's own ground. */
const printable = (next: () => number, maxLen: number) => Array.from({ length: Math.floor(next() * maxLen) }, () => String.fromCharCode(0x20 + Math.floor(next() * 0x60))).join('');

const line = (log: string, stream = 'stdout', time = '2026-11-27T18:00:00.123456789Z') => `{"log":${JSON.stringify(log)},"stream":"${stream}","time":"${time}"}`;

describe('parseDockerBytes', () => {
  it('takes the common line and writes the same entry as the string path', () => {
    expect(agree(line('hello world\n'))).toBe(true);
    expect(agree(line('\n', 'stderr'))).toBe(true);
    expect(agree(line('ascii ~!@#$%^&*()_+{}|:<>?[];,./`=\x7f end\n', 'stderr', '2026-11-27T18:00:00Z'))).toBe(true);
    expect(agree(line('x'.repeat(20_000) + '\n', 'stdout', '2026-11-27T19:00:00.5+01:00'))).toBe(true);
  });

  it('takes well-formed UTF-8 as it is, and declines every byte sequence that is not', () => {
    expect(agree(line('café → naïve 日本語 😀 \ufeff end\n'))).toBe(true);
    const wrap = (bytes: number[]) => Buffer.concat([Buffer.from('{"log":"a'), Buffer.from(bytes), Buffer.from('b\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}')]);
    const notUtf8 = [[0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc3], [0xc3, 0x28], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xe2, 0x82], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xf0, 0x9f, 0x98]];
    for (const bytes of notUtf8) expect(viaBytes(wrap(bytes)), bytes.map((x) => x.toString(16)).join(' ')).toBeNull();
    for (const ok of [[0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xee, 0x80, 0x80], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf]]) {
      expect(agree(wrap(ok)), ok.map((x) => x.toString(16)).join(' ')).toBe(true);
    }
  });

  it('agrees with the string path on 20,000 lines with random bytes in the text', () => {
    const next = rng(8);
    let taken = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = Buffer.from(Array.from({ length: Math.floor(next() * 24) }, () => (next() < 0.5 ? 0x61 + Math.floor(next() * 26) : Math.floor(next() * 256))));
      const l = Buffer.concat([Buffer.from('{"log":"'), text, Buffer.from('\\n","stream":"stderr","time":"2026-11-27T18:00:00.5Z"}')]);
      if (agree(l)) taken++;
    }
    expect(taken).toBeGreaterThan(1000);
  });

  it('finds a byte that is not plain text at every position of a word, at every alignment', () => {
    // A raw control character, a raw quote, a lone backslash, a byte that is not UTF-8, DEL (plain).
    const odd: Array<[number, boolean]> = [[0x01, false], [0x1f, false], [0x22, false], [0x5c, false], [0x80, false], [0xff, false], [0x7f, true], [0x20, true]];
    for (const [byte, ok] of odd) {
      for (let at = 0; at < 40; at++) {
        for (let k = 0; k < 4; k++) {
          const text = Buffer.from('xyzwxyzw'.repeat(6)); // no escape starts with these letters
          text[at] = byte;
          const l = Buffer.concat([Buffer.from('{"log":"'), text, Buffer.from('\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}')]);
          if (ok) expect(agree(l), `0x${byte.toString(16)} at ${at}`).toBe(true);
          else expect(viaBytes(l), `0x${byte.toString(16)} at ${at}`).toBeNull();
        }
      }
    }
  });

  it('takes escapes that stand for ASCII, unescaping them as JSON.parse does', () => {
    expect(agree(line('{"level":"info","msg":"a \\"quoted\\" word","path":"C:\\\\tmp"}\n'))).toBe(true);
    expect(agree(line('tab\there, cr\r, two\nlines, \b \f end\n\n'))).toBe(true);
    expect(agree(line('two\nnewlines\n'))).toBe(true);
    // Go's encoder (docker's) writes <, > and & as \u003c, \u003e, \u0026, and controls as \u00XX.
    expect(agree('{"log":"\\u003chtml\\u003e \\u0026 \\u0000 \\u001F \\u007f \\/ end\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}')).toBe(true);
    expect(viaBytes(line('a\tb\n'))!.includes(Buffer.from('a\tb'))).toBe(true);
  });

  it('declines every near miss, which the string path then handles', () => {
    const declined = [
      line('é partial, no newline'),
      line('partial, no newline'),
      '{"log":"\\u00e9 non-ASCII escape\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
      '{"log":"\\ud800 lone surrogate\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
      '{"log":"bad \\x escape\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
      '{"log":"short \\u00\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
      '{"log":"ends in an escaped backslash\\\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
      line('hello\n', 'other'),
      line('hello\n', 'stdoutx'),
      line('hello\n', 'stdout', 'not a time'),
      line('hello\n', 'stdout', '2026-13-27T18:00:00Z'),
      '{"log":"hello\\n","stream":"stdout","time":"2026-11-27T18:00:00Z","attrs":{"a":"b"}}',
      '{"stream":"stdout","log":"hello\\n","time":"2026-11-27T18:00:00Z"}',
      '{"log": "hello\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
      '{"log":"hello\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"} ',
      '{"log":"hello\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"',
      '{"log":"hello\\n","stream":"stdout","time":"2026-11-27T18:00:00Z""}',
      '{"log":"raw\u0001control\\n","stream":"stdout","time":"2026-11-27T18:00:00Z"}',
      '{"log":"hello\\n',
      '{"log":"',
      '',
    ];
    for (const l of declined) expect(viaBytes(l), JSON.stringify(l)).toBeNull();
  });

  it('agrees with the string path on every docker line of the shared parser cases', () => {
    let taken = 0;
    for (const c of cases) if (c.format === 'docker' || c.format === 'cri') for (const l of c.lines) if (agree(l, c.format)) taken++;
    expect(taken).toBeGreaterThan(3);
  });

  it('never accepts what the string path would not emit identically (20,000 random mutations)', () => {
    const next = rng(20261127);
    let taken = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = next() < 0.5 ? randomText(next, 40) : printable(next, 60);
      const base = line(text + (next() < 0.8 ? '\n' : ''), next() < 0.5 ? 'stdout' : 'stderr', next() < 0.5 ? '2026-11-27T18:00:00.1Z' : '2026-02-29T23:59:60.999999999-05:30');
      const l = next() < 0.7 ? mutate(next, base) : base;
      if (agree(l)) taken++;
    }
    // Most mutations break the line; the test is only meaningful if many still were taken.
    expect(taken).toBeGreaterThan(500);
  });
});

const cri = (text: string, stream = 'stdout', tag = 'F', time = '2026-11-27T18:00:00.123456789Z') => `${time} ${stream} ${tag} ${text}`;

describe('parseCriBytes', () => {
  it('takes the whole line of one tag, whatever its text (control characters and UTF-8 included)', () => {
    for (const l of [cri('hello world'), cri('tabs\tand \r and "quotes" \\ é 😀', 'stderr'), cri(''), '2026-11-27T18:00:00Z stdout F', cri('x'.repeat(20_000), 'stdout', 'F', '2026-11-27T19:00:00.5+01:00')]) {
      expect(agree(l, 'cri'), l.slice(0, 60)).toBe(true);
    }
  });

  it('declines partials, further tags, other streams and anything that is not a CRI line', () => {
    const declined = [
      cri('piece', 'stdout', 'P'),
      cri('tagged', 'stdout', 'F:x'),
      cri('other', 'stdin'),
      cri('x', 'stdoutx'),
      cri('bad time', 'stdout', 'F', '2026-13-27T18:00:00Z'),
      '2026-11-27T18:00:00Z  stdout F double space',
      '2026-11-27T18:00:00Z stdout Fx',
      '2026-11-27T18:00:00Z stdout',
      'no spaces at all',
      '',
    ];
    for (const l of declined) expect(viaBytes(l, 'cri'), l).toBeNull();
    const notUtf8 = Buffer.concat([Buffer.from('2026-11-27T18:00:00Z stdout F a'), Buffer.from([0xc3, 0x28])]);
    expect(viaBytes(notUtf8, 'cri')).toBeNull();
  });

  it('agrees with the string path on 20,000 mutated lines and 20,000 lines of random bytes', () => {
    const next = rng(2027);
    let taken = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = cri(randomText(next, 40), next() < 0.5 ? 'stdout' : 'stderr', next() < 0.8 ? 'F' : 'P', next() < 0.5 ? '2026-11-27T18:00:00.1Z' : '2026-02-29T23:59:60.999999999-05:30');
      if (agree(next() < 0.5 ? mutate(next, base) : base, 'cri')) taken++;
      const text = Buffer.from(Array.from({ length: Math.floor(next() * 24) }, () => (next() < 0.5 ? 0x61 + Math.floor(next() * 26) : Math.floor(next() * 256))));
      if (agree(Buffer.concat([Buffer.from('2026-11-27T18:00:00.5Z stderr F '), text]), 'cri')) taken++;
    }
    expect(taken).toBeGreaterThan(5000);
  });
});

describe('LineBytes timestamp cache', () => {
  it('is owned by each LineBytes: two readers interleaving minutes each read every time right', () => {
    const a = newLineBytes();
    const b = scratch();
    const times = ['2026-11-27T18:00:01.5Z', '2026-11-27T19:30:02Z', '2026-11-27T18:00:03.25Z', '2026-11-27T19:30:04.000000001Z'];
    times.forEach((t, i) => {
      const data = Buffer.from(line(`n${i}\n`, 'stdout', t));
      const out = i % 2 === 0 ? a : b;
      expect(parseDockerBytes(data, 0, data.length, out)).toBe(true);
      const want = parseDocker(data.toString(), NOW.sec, NOW.nsec);
      expect({ sec: out.sec, nsec: out.nsec }).toEqual({ sec: want.sec, nsec: want.nsec });
    });
    expect(a.times).toBeDefined();
    expect(b.times).toBeDefined();
    expect(a.times).not.toBe(b.times);
  });
});
