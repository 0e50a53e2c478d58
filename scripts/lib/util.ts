// Small helpers shared by the scripts (generators, bench, chaos) and the tests.
import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (bind to 0, read, release). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so generated data and randomized tests replay from a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Thrown by a waitFor check that knows waiting longer cannot help (what it waits on has exited): the wait ends with it. */
export class GiveUp extends Error {}

/**
 * Polls `fn` until it returns a truthy value; throws naming `what` (and the last error) after
 * `timeoutMs`. What `fn` throws is retried, except a GiveUp, which ends the wait at once.
 */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}
