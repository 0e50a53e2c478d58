// A vitest reporter that ends the run with every skipped test and why, so a skip is never silent:
// the reason is the note of ctx.skip(note), else the skipNote suffix of the test's title or of an
// enclosing suite's (test/support/skip.ts). Tests left out by a name filter (-t) are not listed.
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';
import { skipReasonIn, withoutSkipNote } from './skip.js';

export interface SkippedTest {
  file: string;
  /** Suites and test, `>` between them, without the reasons in their titles. */
  name: string;
  reason: string;
}

function shownName(test: TestCase): string {
  const names: string[] = [];
  for (let node: TestCase | TestModule | TestCase['parent'] = test; node.type !== 'module'; node = node.parent) names.unshift(withoutSkipNote(node.name));
  return names.join(' > ');
}

/** Why `test` was skipped: its own note, or the reason in its title or an ancestor's. */
export function reasonOf(test: TestCase): string {
  const result = test.result();
  if (result.state === 'skipped' && result.note) return result.note;
  if (test.options.mode === 'todo') return 'todo';
  for (let node: TestCase | TestModule | TestCase['parent'] = test; node.type !== 'module'; node = node.parent) {
    const reason = skipReasonIn(node.name);
    if (reason !== null) return reason;
  }
  return 'no reason given';
}

export function skippedTests(modules: ReadonlyArray<TestModule>, namePattern?: RegExp): SkippedTest[] {
  const out: SkippedTest[] = [];
  for (const m of modules) {
    for (const t of m.children.allTests('skipped')) {
      if (namePattern && !namePattern.test(t.fullName)) continue;
      out.push({ file: m.relativeModuleId, name: shownName(t), reason: reasonOf(t) });
    }
  }
  return out;
}

export default class SkippedReporter implements Reporter {
  private vitest: Vitest | null = null;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped = skippedTests(modules, this.vitest?.config.testNamePattern);
    if (!skipped.length) return;
    const lines = [`Skipped tests (${skipped.length}), and why:`, ...skipped.map((s) => `  ${s.file} > ${s.name}: ${s.reason}`)];
    const log = this.vitest?.logger ?? console;
    log.log(`\n${lines.join('\n')}\n`);
  }
}
