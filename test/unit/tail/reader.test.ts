import { describe, expect, it } from 'vitest';
import { NUL_RUN_MIN, nulRun, splitLines, zeroPrefix } from '../../../agent/tail/reader.js';

function run(blocks: string[], max: number) {
  const out: Array<[string, number, boolean]> = [];
  let carry: Buffer | null = null;
  let off = 0;
  for (const b of blocks) {
    const buf = Buffer.from(b);
    carry = splitLines(carry, buf, off, max, (d, s, e, end, cut) => out.push([d.toString('utf8', s, e), end, cut]));
    off += buf.length;
  }
  return { out, carry: carry?.toString() ?? null };
}

describe('splitLines', () => {
  it('splits on newlines across blocks, with end offsets and the unterminated rest as carry', () => {
    const r = run(['ab\ncd', 'e\n\nf'], 100);
    expect(r.out).toEqual([
      ['ab', 3, false],
      ['cde', 7, false],
      ['', 8, false],
    ]);
    expect(r.carry).toBe('f');
  });

  it('cuts a line longer than the bound into pieces flagged cut, the last piece not', () => {
    const r = run(['0123456789', 'abcdefghij\n'], 8);
    expect(r.out.map((x) => x[0]).join('')).toBe('0123456789abcdefghij');
    expect(r.out.every(([t]) => Buffer.byteLength(t) <= 8)).toBe(true);
    expect(r.out.at(-1)).toEqual(['ghij', 21, false]);
    expect(r.out.slice(0, -1).every(([, , cut]) => cut)).toBe(true);
  });

  it('holds no more than the bound while a line has no newline', () => {
    const r = run(['x'.repeat(50), 'y'.repeat(50)], 16);
    expect(r.carry!.length).toBeLessThanOrEqual(16);
  });

  it('does not cut inside a UTF-8 character', () => {
    const r = run(['ééééé\n'], 5);
    for (const [t] of r.out) expect(t).not.toContain('\uFFFD');
    expect(r.out.map((x) => x[0]).join('')).toBe('ééééé');
  });
});

describe('nulRun', () => {
  const z = (n: number) => Buffer.alloc(n);
  it('a run of NUL_RUN_MIN or more is skipped; a shorter one is text, unless it reaches the end of a full block', () => {
    const b = Buffer.concat([Buffer.from('ab\0\0c'), z(NUL_RUN_MIN), Buffer.from('d')]);
    expect(nulRun(b, 0, b.length, true)).toEqual({ start: 5, end: 5 + NUL_RUN_MIN, skip: true });
    const tail = Buffer.concat([Buffer.from('ab'), z(10)]);
    expect(nulRun(tail, 0, tail.length, true)).toEqual({ start: 2, end: 12, skip: false });
    expect(nulRun(tail, 0, tail.length, false)).toBeNull();
    expect(nulRun(z(10), 0, 10, true)).toBeNull();
    expect(zeroPrefix(Buffer.concat([z(3 * NUL_RUN_MIN + 5), Buffer.from('x')]), 0, 3 * NUL_RUN_MIN + 6)).toBe(3 * NUL_RUN_MIN + 5);
  });
});
