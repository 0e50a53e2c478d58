// The reload serialiser: one run at a time, calls meanwhile folded into one follow-up.
import { describe, expect, it } from 'vitest';
import { OneAtATime } from '../../../supervisor/one-at-a-time.js';

/** A work function whose runs end when the test says so. */
function gatedWork() {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  const work = (arg: string) => {
    started.push(arg);
    return new Promise<string>((resolve) => gates.push(() => resolve(`done ${arg}`)));
  };
  const release = async () => {
    await new Promise((r) => setImmediate(r));
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { started, work, release };
}

describe('OneAtATime', () => {
  it('runs one at a time and folds every call made meanwhile into one follow-up', async () => {
    const g = gatedWork();
    const q = new OneAtATime<string, string>(g.work, (_queued, arg) => arg);
    const first = q.run('a');
    const rest = [q.run('b'), q.run('c'), q.run('d')];
    expect(g.started).toEqual(['a']);
    await g.release();
    expect(g.started).toEqual(['a', 'd']);
    await g.release();
    expect(await first).toBe('done a');
    expect(await Promise.all(rest)).toEqual(['done d', 'done d', 'done d']);
  });

  it('keeps the queued argument when fold says so (a signal outranks a watch)', async () => {
    const g = gatedWork();
    const q = new OneAtATime<string, string>(g.work, (queued, arg) => (arg === 'signal' ? arg : queued));
    void q.run('watch');
    const next = [q.run('signal'), q.run('watch')];
    await g.release();
    await g.release();
    expect(g.started).toEqual(['watch', 'signal']);
    expect(await Promise.all(next)).toEqual(['done signal', 'done signal']);
  });

  it('a failed run takes no follow-up, and the next call starts afresh', async () => {
    let calls = 0;
    const q = new OneAtATime<number, number>(async (n) => {
      calls += 1;
      if (n === 1) throw new Error('boom');
      return n;
    }, (_q, n) => n);
    const first = q.run(1);
    const folded = q.run(2);
    await expect(first).rejects.toThrow('boom');
    await expect(folded).rejects.toThrow('boom');
    expect(calls).toBe(1);
    expect(await q.run(3)).toBe(3);
    expect(await q.run(4)).toBe(4);
  });
});
