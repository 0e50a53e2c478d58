// Segments (file.ts) and batches (batch.ts): one segment per batch rather than per line, acks
// settle in file order whatever order they come in, and the open-bytes bound picks the biggest.
import { describe, expect, it } from 'vitest';
import type { InputConfig } from '../../../config/schema.js';
import { Batcher, type Batch } from '../../../agent/tail/batch.js';
import { TailedFile } from '../../../agent/tail/file.js';

const input = { name: 'host', paths: ['/x/*.log'], format: 'plain' } as unknown as InputConfig;
const file = (key = '1:1') => new TailedFile(key, 1, 1, '', -1, '/x/a.log', '/x/a.log', input, { k8s: null, dockerId: null, tag: 't' }, 1024, 0);

describe('TailedFile segments', () => {
  it('lines extend the last segment until a batch holding it is sent (sealed)', () => {
    const f = file();
    const a = f.segment(10);
    expect(f.segment(20)).toBe(a);
    expect(a.offset).toBe(20);
    a.sealed = true;
    const b = f.segment(30);
    expect(b).not.toBe(a);
    expect(f.inFlight).toBe(2);
    // Never moves backwards.
    expect(f.segment(25)).toBe(b);
    expect(b.offset).toBe(30);
  });

  it('settles only over the acked head, in file order, whatever order acks come in', () => {
    const f = file();
    const segs = [10, 20, 30].map((o) => {
      const s = f.segment(o);
      s.pending = 1;
      s.sealed = true;
      return s;
    });
    segs[2]!.pending = 0;
    expect(f.settle(1)).toBe(false);
    expect(f.committed).toBe(0);
    segs[0]!.pending = 0;
    expect(f.settle(2)).toBe(true);
    expect(f.committed).toBe(10);
    segs[1]!.pending = 0;
    expect(f.settle(3)).toBe(true);
    expect(f.committed).toBe(30);
    expect(f.inFlight).toBe(0);
  });

  it('many segments settle and compact without losing order', () => {
    const f = file();
    const segs = [];
    for (let i = 1; i <= 1000; i++) {
      const s = f.segment(i);
      s.pending = 1;
      s.sealed = true;
      segs.push(s);
    }
    for (let i = 0; i < 1000; i++) {
      segs[i]!.pending = 0;
      f.settle(i);
      expect(f.committed).toBe(i + 1);
      expect(f.inFlight).toBe(999 - i);
    }
  });

  it('restart orphans segments in flight: their acks move nothing', () => {
    const f = file();
    const s = f.segment(50);
    s.pending = 1;
    f.restart();
    s.pending = 0;
    expect(f.settle(1)).toBe(false);
    expect(f.committed).toBe(0);
  });
});

describe('Batcher', () => {
  const write = (b: Batch, n: number) => {
    const before = b.buf!.length;
    b.buf!.reserve(n);
    b.buf!.length += n;
    return b.buf!.length - before;
  };

  it('full by records or bytes; one segment entry per run of lines', () => {
    const bt = new Batcher(3, 1000, 60_000, () => {});
    const f = file();
    const b = bt.batchFor('t');
    const seg = f.segment(10);
    expect(bt.added(b, seg, write(b, 10))).toBeNull();
    expect(bt.added(b, f.segment(20), write(b, 10))).toBeNull();
    expect(bt.added(b, f.segment(30), write(b, 10))).toBe(b);
    expect(b.segments).toEqual([seg]);
    expect(seg.pending).toBe(1);
    expect(bt.bufferedBytes()).toBe(0);
    const c = bt.batchFor('t');
    expect(c).not.toBe(b);
    expect(bt.added(c, f.segment(40), write(c, 1000))).toBe(c);
    for (const x of bt.takeAll()) bt.release(x);
    bt.close();
  });

  it('over budget: the biggest open batches go until the sum fits; released buffers are reused', () => {
    const bt = new Batcher(100, 100, 60_000, () => {});
    const f = file();
    const small = bt.batchFor('small');
    bt.added(small, f.segment(1), write(small, 30));
    const big = bt.batchFor('big');
    bt.added(big, f.segment(2), write(big, 60));
    expect(bt.overBudget()).toEqual([]);
    const mid = bt.batchFor('mid');
    bt.added(mid, f.segment(3), write(mid, 40));
    expect(bt.overBudget()).toEqual([big]);
    expect(bt.bufferedBytes()).toBe(70);
    const buf = big.buf;
    bt.release(big);
    expect(big.buf).toBeNull();
    expect(bt.batchFor('next').buf).toBe(buf);
    expect(buf!.length).toBe(0);
    bt.takeAll();
    bt.close();
  });

  it('one tick, flushMs after the first batch opened, serves every batch open by then', async () => {
    let ticks = 0;
    const bt = new Batcher(100, 1000, 40, () => ticks++);
    const t0 = performance.now();
    const a = bt.batchFor('a');
    bt.added(a, file().segment(1), write(a, 5));
    expect(bt.ticking()).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    const b = bt.batchFor('b');
    bt.added(b, file().segment(1), write(b, 5));
    while (ticks === 0) await new Promise((r) => setTimeout(r, 2));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(39);
    expect(ticks).toBe(1);
    expect(bt.ticking()).toBe(false);
    expect(bt.takeAll()).toEqual([a, b]);
    expect(bt.bufferedBytes()).toBe(0);
    expect(bt.batchFor('a')).not.toBe(a);
    expect(bt.ticking()).toBe(true);
    bt.close();
    expect(bt.ticking()).toBe(false);
  });
});
