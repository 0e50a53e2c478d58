// The contrast that shows why the image runs tini: warden as PID 1 itself cannot reap adopted
// orphans (Node has no waitpid for them), so the zombie stays, and warden says so at start-up.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/index.js';
import { PidNamespaceRun, pidNamespaceSkipReason } from '../support/pid1.js';
import { skipNote } from '../support/skip.js';

const skip = pidNamespaceSkipReason(false);
let run: PidNamespaceRun | null = null;
afterEach(() => {
  run?.cleanup();
  run = null;
});

describe.skipIf(skip !== null)(`warden run as PID 1 of a PID namespace${skipNote(skip)}`, () => {
  it('warns at start-up, the orphan stays a zombie, SIGTERM still → exit 0', async () => {
    run = new PidNamespaceRun();
    await run.start(false, 600);
    const r = run;
    const warden = await waitFor('warden as the namespace PID 1', () => r.nsInit());
    const orphan = await waitFor('an orphan reparented to warden', () => r.members(warden).find((p) => p.ppid === warden && r.isOrphanFixture(p.pid))?.pid, 15_000);
    await waitFor('the orphan to become a zombie', () => r.stateOf(orphan) === 'Z', 10_000);
    expect(r.out.join('')).toContain('warden is PID 1 and cannot reap orphaned processes');

    process.kill(warden, 'SIGTERM');
    expect(await r.exit).toBe(0);
  });
});

