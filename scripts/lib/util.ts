// Small helpers shared by the scripts (generators, bench, chaos) and the tests.
import { createServer } from 'node:net';

/**
 * Where freePort looks: below the kernel's ephemeral range (32768–60999 by default), which every
 * `listen(0)` and every outgoing connection draws from, in one block of PORT_SPAN ports per
 * vitest worker (VITEST_POOL_ID 1–8) and a ninth for any other process (the bench, chaos).
 * Two test files running at once never get the same port, and a port handed out is not handed
 * out again by the same process until its block wraps around.
 */
export const PORT_BASE = 20_000;
export const PORT_SPAN = 1_400;
const PORT_BLOCKS = 9;

/** The first port of the block freePort uses in a process with `poolId` (process.env.VITEST_POOL_ID). */
export function portBlock(poolId: string | undefined): number {
  const id = Number(poolId);
  const slot = Number.isInteger(id) && id >= 1 ? (id - 1) % (PORT_BLOCKS - 1) : PORT_BLOCKS - 1;
  return PORT_BASE + slot * PORT_SPAN;
}

let nextPort: number | undefined;

/** Whether 127.0.0.1:`port` can be listened on right now (bound and released at once). */
function canListen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** A TCP port free on 127.0.0.1 right now, from this process's block (see PORT_BASE). */
export async function freePort(): Promise<number> {
  const base = portBlock(process.env.VITEST_POOL_ID);
  // A random start, so consecutive processes of one worker do not walk the same ports in step.
  nextPort ??= Math.floor(Math.random() * PORT_SPAN);
  for (let tries = 0; tries < PORT_SPAN; tries++) {
    const port = base + (nextPort++ % PORT_SPAN);
    if (await canListen(port)) return port;
  }
  throw new Error(`freePort: no free port in 127.0.0.1:${base}–${base + PORT_SPAN - 1}`);
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
