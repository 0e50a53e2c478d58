import { describe, expect, it } from 'vitest';
import { parsePlain } from '../../../agent/parse/plain.js';
import { Reassembler } from '../../../agent/parse/reassemble.js';
import type { Assembled, Fragment } from '../../../agent/parse/types.js';
import { randomText, rng } from '../../fixtures/parse/random.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const frag = (stream: string, content: string, partial: boolean, sec = 1): Fragment => ({ sec, nsec: 0, stream, content, partial });

/** The obvious model: join per stream, then chunk each logical line greedily at max bytes. */
function model(fragments: Fragment[], max: number): Map<string, Assembled[]> {
  const out = new Map<string, Assembled[]>();
  const open = new Map<string, { sec: number; text: string }>();
  for (const f of fragments) {
    const o = open.get(f.stream) ?? { sec: f.sec, text: '' };
    o.text += f.content;
    open.set(f.stream, o);
    if (f.partial) continue;
    open.delete(f.stream);
    const pieces: string[] = [];
    let rest = o.text;
    while (bytes(rest) > max) {
      let n = 0;
      let b = 0;
      for (const ch of rest) {
        if (b + bytes(ch) > max) break;
        b += bytes(ch);
        n += ch.length;
      }
      pieces.push(rest.slice(0, n));
      rest = rest.slice(n);
    }
    pieces.push(rest);
    const list = out.get(f.stream) ?? [];
    for (const p of pieces) list.push({ sec: o.sec, nsec: 0, stream: f.stream, log: p, ...(pieces.length > 1 ? { truncated: true } : {}) });
    out.set(f.stream, list);
  }
  return out;
}

describe('Reassembler against a model', () => {
  it('random partials on two streams: same records per stream, each within max bytes, memory bounded', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = rng(seed);
      const max = 16 + Math.floor(next() * 48);
      const fragments: Fragment[] = [];
      for (let i = 0; i < 200; i++) {
        // Lone surrogates would count as U+FFFD on the wire but not in the model's for..of walk.
        const text = randomText(next, 60).replace(/[\ud800-\udfff]/g, 'x');
        fragments.push(frag(next() < 0.5 ? 'stdout' : 'stderr', text, next() < 0.6, i));
      }
      fragments.push(frag('stdout', 'end', false, 999), frag('stderr', 'end', false, 999));
      const r = new Reassembler(max);
      const got = new Map<string, Assembled[]>();
      for (const f of fragments) {
        for (const a of r.push(f)) got.set(a.stream, [...(got.get(a.stream) ?? []), a]);
        // At most one pending line per stream, each at most max bytes plus one fragment.
        expect(r.pendingBytes()).toBeLessThanOrEqual(2 * (max + 60 * 4));
      }
      expect(r.flush()).toStrictEqual([]);
      expect(got).toStrictEqual(model(fragments, max));
    }
  });
});

describe('Reassembler edges', () => {
  it('flush emits pending lines flagged partial; what follows is a new line with its own time', () => {
    const r = new Reassembler(1024);
    expect(r.push(frag('stdout', 'abc', true, 10))).toStrictEqual([]);
    expect(r.pendingBytes()).toBe(3);
    expect(r.flush()).toStrictEqual([{ sec: 10, nsec: 0, stream: 'stdout', log: 'abc', partial: true }]);
    expect(r.pendingBytes()).toBe(0);
    expect(r.push(frag('stdout', 'def', false, 20))).toStrictEqual([{ sec: 20, nsec: 0, stream: 'stdout', log: 'def' }]);
  });

  it('pendingBytes counts UTF-8 bytes', () => {
    const r = new Reassembler(1024);
    r.push(frag('stdout', 'é😀', true));
    expect(r.pendingBytes()).toBe(6);
  });

  it('more streams than it keeps pending: the oldest is emitted as partial, nothing lost', () => {
    const r = new Reassembler(1024);
    const out: Assembled[] = [];
    for (let i = 0; i < 9; i++) out.push(...r.push(frag(`s${i}`, `x${i}`, true, i)));
    expect(out).toStrictEqual([{ sec: 0, nsec: 0, stream: 's0', log: 'x0', partial: true }]);
    expect(r.pendingBytes()).toBe(16);
    expect(r.flush().map((a) => a.log)).toStrictEqual(['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8']);
  });

  it('a flush in the middle of a cut physical line: the raw rest still joins the first piece\'s stream', () => {
    const r = new Reassembler(1024);
    const head: Fragment = { sec: 5, nsec: 6, stream: 'stderr', content: 'head', partial: false };
    expect(r.push(head, true)).toStrictEqual([]);
    expect(r.flush()).toStrictEqual([{ sec: 5, nsec: 6, stream: 'stderr', log: 'head', partial: true }]);
    expect(r.push(parsePlain('rest', 9, 0))).toStrictEqual([{ sec: 9, nsec: 0, stream: 'stderr', log: 'rest' }]);
    // The physical line ended: the next line is parsed on its own again.
    expect(r.push(frag('stdout', 'own', false, 11))).toStrictEqual([{ sec: 11, nsec: 0, stream: 'stdout', log: 'own' }]);
  });

  it('parse errors stay apart from a stream\'s pending line and keep their flag', () => {
    const r = new Reassembler(1024);
    r.push(frag('stdout', 'a', true));
    const err: Fragment = { sec: 3, nsec: 0, stream: 'stdout', content: '{bad', partial: false, parseError: true };
    expect(r.push(err)).toStrictEqual([{ sec: 3, nsec: 0, stream: 'stdout', log: '{bad', parse_error: true }]);
    expect(r.push(frag('stdout', 'b', false))).toStrictEqual([{ sec: 1, nsec: 0, stream: 'stdout', log: 'ab' }]);
  });

  it('attrs of the first fragment travel with the line', () => {
    const r = new Reassembler(1024);
    r.push({ ...frag('stdout', 'a', true), attrs: { k: 'v' } });
    expect(r.push(frag('stdout', 'b', false))).toStrictEqual([{ sec: 1, nsec: 0, stream: 'stdout', log: 'ab', attrs: { k: 'v' } }]);
  });

  it('one huge fragment is emitted in max-byte pieces, not held', () => {
    const r = new Reassembler(1024);
    const out = r.push(frag('stdout', 'z'.repeat(10_000), true));
    expect(out.map((a) => a.log.length)).toStrictEqual(Array(9).fill(1024));
    expect(out.every((a) => a.truncated)).toBe(true);
    expect(r.pendingBytes()).toBe(10_000 - 9 * 1024);
    expect(r.flush()).toStrictEqual([{ sec: 1, nsec: 0, stream: 'stdout', log: 'z'.repeat(784), partial: true, truncated: true }]);
  });

  it('rejects a max that cannot hold one code point', () => {
    expect(() => new Reassembler(3)).toThrow(/maxLineBytes must be an integer >= 4, got 3/);
    expect(() => new Reassembler(1.5)).toThrow(/got 1.5/);
  });

  it('heldFrom: the start of the oldest physical line whose text is still held, past the shipped pieces', () => {
    const r = new Reassembler(10);
    // Physical lines of 8 bytes' content each, at offsets 0, 100, 200, …
    expect(r.push(frag('stdout', 'aaaaaaaa', true), false, 0)).toEqual([]);
    expect(r.heldFrom()).toBe(0);
    expect(r.push(frag('stdout', 'bbbbbbbb', true), false, 100).map((a) => a.log)).toEqual(['aaaaaaaabb']);
    // 'a…' is shipped whole: only line 100's text is held.
    expect(r.heldFrom()).toBe(100);
    r.push(frag('stderr', 'e', true), false, 150);
    expect(r.heldFrom()).toBe(100);
    r.push(frag('stdout', 'cc', true), false, 200);
    expect(r.heldFrom()).toBe(100);
    r.push(frag('stdout', 'dddddddd', true), false, 300);
    // 'bbbbbb' + 'cc' + 'dd' went out: line 300 is held on stdout, line 150 on stderr.
    expect(r.heldFrom()).toBe(150);
    r.push(frag('stderr', '', false), false, 350);
    expect(r.heldFrom()).toBe(300);
    r.push(frag('stdout', 'dd', false), false, 400);
    expect(r.heldFrom()).toBe(-1);
    // A physical line cut by the reader is held from its own start, whichever piece comes next.
    r.push(frag('stdout', 'x', false), true, 500);
    r.push(parsePlain('yyyyyyyyyyyy', 1, 0), true, 510);
    expect(r.heldFrom()).toBe(500);
    r.push(parsePlain('z', 1, 0), false, 522);
    expect(r.heldFrom()).toBe(-1);
  });
});
