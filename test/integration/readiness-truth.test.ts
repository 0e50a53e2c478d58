// What warden says about its child's readiness: "child ready" only once warden's own Forward
// client got through (a process squatting on the port must not pass), and a clean start logs no
// warning for the connection attempts made before the child listens.
import { createServer, type Server, type Socket } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, logEntries, tempDir, waitFor } from '../support/index.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

/** `connectTimeoutMs`: short where a squatter that never answers the handshake must time out fast. */
async function config(dir: string, child?: string[], connectTimeoutMs = 300) {
  const [healthPort, fwdPort] = [await freePort(), await freePort()];
  mkdirSync(join(dir, 'logs'), { recursive: true });
  return {
    fwdPort,
    config: {
      state_dir: join(dir, 'state'),
      health: { listen: `127.0.0.1:${healthPort}` },
      inputs: [{ name: 'host', paths: [join(dir, 'logs/*.log')], format: 'plain' }],
      tail: { roots: [join(dir, 'logs')] },
      forward: { to: `tcp://127.0.0.1:${fwdPort}`, connect_timeout_ms: connectTimeoutMs },
      child: {
        command: child ?? ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', join(dir, 'out.ndjson')],
        ready_timeout_s: 3,
        stop_grace_s: 1,
        restart: { backoff_initial_ms: 100, backoff_max_ms: 500 },
      },
    },
  };
}

describe('child readiness tells the truth', () => {
  it('a port held by another process (silent, no HELO) never makes the child "ready"', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    // The child lives but never listens; something else owns its Forward port.
    const { fwdPort, config: c } = await config(t.dir, [process.execPath, '-e', 'setInterval(() => {}, 1000)']);
    const held: Socket[] = [];
    const squatter: Server = createServer((s) => {
      held.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => squatter.listen(fwdPort, '127.0.0.1', r));
    scope.deferred.push(() => new Promise((r) => {
      for (const s of held) s.destroy();
      squatter.close(r);
    }));
    const w = (scope.running = spawnWarden(t.dir, c));
    // The ready timeout (3 s) passes without the child ever being ready: it is restarted as such.
    await waitFor('the ready timeout', () => w.output().includes('child did not accept a connection in time'), 20_000);
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(logEntries(w.output()).filter((l) => l.msg === 'child ready')).toEqual([]);
    const ready = await w.get('/readyz');
    expect(ready.status).toBe(503);
    expect((await w.json('/status')).child.state).not.toBe('ready');
  });

  it('a clean start warns about nothing: refused attempts before the child listens are debug', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    // The shipped connect timeout: on a loaded machine a sink that has just started can take more
    // than 300 ms over the handshake, and an attempt given up then resets the connection under it.
    const { config: c } = await config(t.dir, undefined, 5000);
    const w = (scope.running = spawnWarden(t.dir, c));
    await waitFor('ready', async () => (await w.get('/readyz')).status === 200, 30_000);
    await waitFor('"child ready" logged', () => logEntries(w.output()).some((l) => l.msg === 'child ready'), 5000);
    const warnings = logEntries(w.output()).filter((l) => ['warn', 'error', 'fatal'].includes(l.level));
    expect(warnings.map((l) => l.msg)).toEqual([]);
  });
});
