import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FP_BYTES, fingerprintFd, fingerprintMatches } from '../../../agent/tail/identity.js';

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
