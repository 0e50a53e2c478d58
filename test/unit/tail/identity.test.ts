import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FP_BYTES, TAIL_BYTES, fingerprintFd, fingerprintMatches, tailMatches, tailOf } from '../../../agent/tail/identity.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-id-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function fpOf(path: string) {
  const fd = openSync(path, 'r');
  try {
    return await fingerprintFd(fd);
  } finally {
    closeSync(fd);
  }
}

async function matches(path: string, stored: { fp: string; fpLen: number }) {
  const fd = openSync(path, 'r');
  try {
    return await fingerprintMatches(fd, stored);
  } finally {
    closeSync(fd);
  }
}

describe('fingerprint', () => {
  it('covers the first FP_BYTES, or the whole file while it is shorter', async () => {
    const p = join(dir, 'a.log');
    writeFileSync(p, 'hello\n');
    const short = await fpOf(p);
    expect(short.fpLen).toBe(6);
    appendFileSync(p, 'x'.repeat(3000));
    const full = await fpOf(p);
    expect(full.fpLen).toBe(FP_BYTES);
    // The short fingerprint still matches the grown file: same first bytes.
    expect(await matches(p, short)).toBe(true);
    expect(await matches(p, full)).toBe(true);
  });

  it('does not match a new file in the same place (inode reuse) or a shorter one', async () => {
    const p = join(dir, 'a.log');
    writeFileSync(p, 'first content of the old file\n');
    const old = await fpOf(p);
    writeFileSync(p, 'other content of a new file!!\n');
    expect(await matches(p, old)).toBe(false);
    writeFileSync(p, 'first');
    expect(await matches(p, old)).toBe(false);
  });
});

describe('tail mark (the bytes before an offset)', () => {
  it('matches the file it was taken of, grown; not a new generation with the same first KiB; not a shorter file', async () => {
    const banner = 'b'.repeat(FP_BYTES + 100) + '\n';
    const old = Buffer.from(banner + 'old-1\nold-2\n');
    const mark = tailOf(old, old.length, old.length)!;
    expect(mark.len).toBe(TAIL_BYTES);
    const path = join(dir, 'a.log');
    const check = async () => {
      const fd = openSync(path, 'r');
      try {
        return await tailMatches(fd, mark);
      } finally {
        closeSync(fd);
      }
    };
    writeFileSync(path, old);
    appendFileSync(path, 'old-3\n');
    expect(await check()).toBe(true);
    writeFileSync(path, banner + 'new-1\nnew-2\nnew-3\nnew-4\n');
    expect(await check()).toBe(false);
    writeFileSync(path, banner);
    expect(await check()).toBe(false);
    expect(tailOf(old, 0, 0)).toBeNull();
    expect(tailOf(old, 10, 10)).toMatchObject({ at: 10, len: 10 });
  });
});
