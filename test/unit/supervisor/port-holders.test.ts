// Who else listens on the Forward port, as /status asks it: real listeners on loopback, the real
// /proc. However often it is asked, the holders are read at most once per PORT_HOLDERS_MAX_AGE_MS.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PORT_HOLDERS_MAX_AGE_MS, PortHolders } from '../../../supervisor/child/port-holders.js';
import { alive, fixture, freePort, waitFor } from '../../support/index.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) p.kill('SIGKILL');
});

async function listener(port: number): Promise<ChildProcess> {
  const p = spawn(process.execPath, [fixture('listen.mjs'), String(port)], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(p);
  await new Promise<void>((resolve, reject) => {
    p.once('exit', () => reject(new Error('listener exited')));
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
  });
  return p;
}

const nobody = { pid: null, escaped: [], marker: null };

describe('PortHolders', () => {
  it('a burst of requests reads the holders once; they are read again once the answer is older than the bound', async () => {
    const port = await freePort();
    const p = await listener(port);
    let now = 0;
    const holders = new PortHolders(() => now);
    const to = `tcp://127.0.0.1:${port}`;
    for (let i = 0; i < 500; i++) {
      expect(holders.get(to, undefined, nobody)).toEqual([{ pid: p.pid, command: 'node', descendant: false }]);
      now += 1;
    }
    // 500 calls over 0.5 s of the clock.
    expect(holders.reads).toBe(1);
    now = PORT_HOLDERS_MAX_AGE_MS;
    holders.get(to, undefined, nobody);
    expect(holders.reads).toBe(2);
    // Whose it is is decided on every call, from what was read: as the child's group leader it is not listed.
    expect(holders.get(to, undefined, { pid: p.pid!, escaped: [], marker: null })).toEqual([]);
    expect(holders.reads).toBe(2);
  });

  it('a holder killed is gone from the next answer; a new one shows within the bound, polled as fast as a scraper can', async () => {
    const port = await freePort();
    const first = await listener(port);
    const holders = new PortHolders();
    const to = `tcp://127.0.0.1:${port}`;
    expect(holders.get(to, undefined, nobody).map((h) => h.pid)).toEqual([first.pid]);
    first.kill('SIGKILL');
    await waitFor('the first listener gone', () => !alive(first.pid!), 5000, 5);
    expect(holders.get(to, undefined, nobody)).toEqual([]);
    const second = await listener(port);
    const shownAt = performance.now();
    const readsBefore = holders.reads;
    let calls = 0;
    await waitFor('the new holder listed', () => {
      calls += 1;
      return holders.get(to, undefined, nobody).some((h) => h.pid === second.pid);
    }, 5000, 1);
    expect(performance.now() - shownAt).toBeLessThan(PORT_HOLDERS_MAX_AGE_MS + 500);
    expect(calls).toBeGreaterThan(10);
    expect(holders.reads - readsBefore).toBeLessThanOrEqual(2);
  });
});
