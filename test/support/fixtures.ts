// Paths of the repository and its fixtures, and temp directories that tests remove after themselves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The bundle `npm run build` writes; the tests that spawn warden run this. */
export const WARDEN = join(ROOT, 'dist/warden.mjs');

/** A fixture child script under test/fixtures/children. */
export function fixture(name: string): string {
  return join(ROOT, 'test/fixtures/children', name);
}

export function tempDir(prefix = 'warden-it-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh directory for every test of the file (made before each, removed after each). */
export function tempDirEach(prefix: string): { readonly dir: string } {
  let current: { dir: string; cleanup: () => void } | undefined;
  beforeEach(() => {
    current = tempDir(prefix);
  });
  afterEach(() => {
    current?.cleanup();
    current = undefined;
  });
  return {
    get dir(): string {
      if (!current) throw new Error('tempDirEach: the directory exists only while a test runs');
      return current.dir;
    },
  };
}
