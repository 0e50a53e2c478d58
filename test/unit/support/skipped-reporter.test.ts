// The run's output ends with every skipped test and its reason: a real vitest over
// test/fixtures/vitest/skips.spec.ts, which skips in each way a test here can.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipNote, skipReasonIn, withoutSkipNote } from '../../support/skip.js';
import { ROOT } from '../../support/index.js';

const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');

function runFixture(...args: string[]) {
  const r = spawnSync(process.execPath, [vitest, 'run', '--root', join(ROOT, 'test/fixtures/vitest'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '', NO_COLOR: '1', FORCE_COLOR: '0' },
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const at = r.stdout.indexOf('Skipped tests');
  // After the default reporter's summary: the last thing the run prints.
  expect(at).toBeGreaterThan(r.stdout.indexOf('Test Files'));
  return r.stdout.slice(at);
}

describe('skip notes', () => {
  it('put the reason in a title and read it back', () => {
    expect(skipNote(null)).toBe('');
    const title = `needs a tmpfs${skipNote('cannot mount (EPERM)')}`;
    expect(skipReasonIn(title)).toBe('cannot mount (EPERM)');
    expect(withoutSkipNote(title)).toBe('needs a tmpfs');
    expect(skipReasonIn('runs')).toBeNull();
  });
});

describe('the skipped-tests reporter', () => {
  it('lists each skipped test after the summary, with the reason from its title, its suite\'s, or ctx.skip', () => {
    const out = runFixture();
    expect(out.split('\n').filter((l) => l.startsWith('  '))).toEqual([
      '  skips.spec.ts > a suite that needs frobnicate > uses it: frobnicate is not installed',
      '  skips.spec.ts > a test that needs root: needs root',
      '  skips.spec.ts > a test that finds out at run time: the kernel has no such feature',
      '  skips.spec.ts > a test skipped without a word: no reason given',
      '  skips.spec.ts > a test not written yet: todo',
    ]);
    expect(out).toMatch(/^Skipped tests \(5\)/);
  });

  it('leaves out tests a name filter (-t) left out', () => {
    const out = runFixture('-t', 'root');
    expect(out.split('\n').filter((l) => l.startsWith('  '))).toEqual(['  skips.spec.ts > a test that needs root: needs root']);
  });
});
