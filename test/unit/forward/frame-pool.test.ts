import { describe, expect, it } from 'vitest';
import { FramePool, frameSize } from '../../../agent/forward/frame-pool.js';

describe('frame buffers', () => {
  it('a small chunk gets a small buffer: the next power of two from 1 KiB, whole 64 KiB above 64 KiB', () => {
    expect(frameSize(1)).toBe(1024);
    expect(frameSize(300)).toBe(1024);
    expect(frameSize(1025)).toBe(2048);
    expect(frameSize(40_000)).toBe(64 * 1024);
    expect(frameSize(64 * 1024)).toBe(64 * 1024);
    expect(frameSize(64 * 1024 + 1)).toBe(128 * 1024);
    expect(frameSize(200 * 1024)).toBe(256 * 1024);
    expect(frameSize(1024 * 1024 + 5)).toBe(1024 * 1024 + 64 * 1024);
  });

  it('a thousand one-line chunks take 1 KiB each, not 64 KiB', () => {
    const pool = new FramePool(4);
    let held = 0;
    for (let i = 0; i < 1000; i++) held += pool.take(180 + (i % 50)).length;
    expect(held).toBe(1000 * 1024);
  });

  it('reuses the smallest free buffer that fits, and keeps bigger ones when full', () => {
    const pool = new FramePool(2);
    const a = pool.take(3000);
    const b = pool.take(100_000);
    expect(a.length).toBe(4096);
    expect(b.length).toBe(128 * 1024);
    pool.give(b);
    pool.give(a);
    expect(pool.take(2000)).toBe(a);
    pool.give(a);
    const c = Buffer.allocUnsafeSlow(256 * 1024);
    pool.give(c);
    expect(pool.take(200_000)).toBe(c);
    expect(pool.take(100_000)).toBe(b);
    const fresh = pool.take(1000);
    expect(fresh).not.toBe(a);
    expect(fresh.length).toBe(1024);
  });
});
