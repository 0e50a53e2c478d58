// A good PID 1: tini as the namespace's PID 1 reaps the orphans of warden's child tree, and
// SIGTERM reaches warden through it and ends in exit 0.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/index.js';
import { PidNamespaceRun, pidNamespaceSkipReason } from '../support/pid1.js';
import { skipNote } from '../support/skip.js';

const skip = pidNamespaceSkipReason(true);
let run: PidNamespaceRun | null = null;
afterEach(() => {
  run?.cleanup();
  run = null;
});

describe.skipIf(skip !== null)(`tini -- warden run in a PID namespace${skipNote(skip)}`, () => {
  it('orphans of the child tree are reaped; SIGTERM → exit 0', async () => {
    run = new PidNamespaceRun();
    await run.start(true, 500);
    const r = run;
    const tini = await waitFor('tini as the namespace PID 1', () => r.nsInit());
    const warden = await waitFor('warden under tini', () => r.members(tini).find((p) => p.ppid === tini)?.pid);
    // The double fork: a process whose parent is the namespace's PID 1 that is not warden.
    const orphan = await waitFor('an orphan reparented to PID 1', () => r.members(tini).find((p) => p.ppid === tini && p.pid !== warden && r.isOrphanFixture(p.pid))?.pid, 15_000);
    await waitFor('the orphan to exit', () => r.stateOf(orphan) === null || r.stateOf(orphan) === 'Z', 10_000);
    await new Promise((res) => setTimeout(res, 2000));
    const zombies = r.members(tini).filter((p) => p.state === 'Z');
    expect(zombies).toEqual([]);
    expect(r.stateOf(orphan)).toBeNull();

    process.kill(tini, 'SIGTERM');
    expect(await r.exit).toBe(0);
    expect(r.out.join('')).toContain('"msg":"stopped"');
  });
});
