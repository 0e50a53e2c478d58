// The bench's wait for warden's /readyz: it fails fast when the process exits, and a timeout says
// why (the socket error, the process's own output). Real processes and a real HTTP server.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, GiveUp, waitFor, waitReady } from '../../../scripts/bench/warden.js';

const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

function run(script: string): { proc: ChildProcess; output: () => string } {
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  for (const s of [proc.stdout!, proc.stderr!]) s.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, output: () => out };
}

describe('waitFor', () => {
  it('retries what the check throws, but a GiveUp ends the wait at once', async () => {
    let tries = 0;
    await expect(waitFor('a third try', () => {
      if (++tries < 3) throw new Error('not yet');
      return tries;
    }, 5_000, 10)).resolves.toBe(3);
    const t0 = performance.now();
    await expect(waitFor('an exited program', () => {
      throw new GiveUp('it exited');
    }, 20_000, 10)).rejects.toThrow(/^it exited$/);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});

describe('waitReady', () => {
  it('fails as soon as the process exits, with its exit code and output, not at the timeout', async () => {
    const port = await freePort();
    const w = { ...run('console.error("cannot listen for health probes"); setTimeout(() => process.exit(3), 200)'), base: `http://127.0.0.1:${port}` };
    const t0 = performance.now();
    await expect(waitReady(w, 20_000)).rejects.toThrow(/warden exited early \(3\): cannot listen for health probes/);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('on a timeout, names the socket error and quotes what the process said', async () => {
    const port = await freePort();
    const w = { ...run('console.log("still starting"); setInterval(() => {}, 1000)'), base: `http://127.0.0.1:${port}` };
    await expect(waitReady(w, 500)).rejects.toThrow(/timed out after 500 ms waiting for warden \/readyz 200: Error: GET http:\/\/127\.0\.0\.1:\d+\/readyz: ECONNREFUSED; warden's output: still starting/);
  });

  it('resolves once /readyz answers 200', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      res.statusCode = ++calls < 3 ? 503 : 200;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      await waitReady({ ...run('setInterval(() => {}, 1000)'), base: `http://127.0.0.1:${port}` }, 10_000);
      expect(calls).toBe(3);
    } finally {
      server.close();
    }
  });
});
