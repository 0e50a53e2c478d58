// Why a test is skipped, in its name: tests that need a tool or a privilege the machine may lack
// (kubectl, root, a tmpfs mount) put the reason in their title with skipNote, and the skipped-tests
// reporter (test/support/skipped-reporter.ts) lists every skipped test with it at the end of the run.

const MARK = ' (skipped: ';

/** A test or suite title's suffix: ` (skipped: <reason>)` when `reason` is given, '' when null (the test runs). */
export function skipNote(reason: string | null): string {
  return reason === null ? '' : `${MARK}${reason})`;
}

/** The reason in a title made with skipNote; null when it holds none. */
export function skipReasonIn(title: string): string | null {
  const at = title.lastIndexOf(MARK);
  if (at < 0 || !title.endsWith(')')) return null;
  return title.slice(at + MARK.length, -1);
}

/** `title` without its skipNote suffix. */
export function withoutSkipNote(title: string): string {
  return skipReasonIn(title) === null ? title : title.slice(0, title.lastIndexOf(MARK));
}
