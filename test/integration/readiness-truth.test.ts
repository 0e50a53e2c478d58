// What warden says about its child's readiness: "child ready" only once warden's own Forward
// client got through (a process squatting on the port must not pass), and a clean start logs no
// warning for the connection attempts made before the child listens.
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WARDEN, freePort, logEntries, tempDir, waitFor } from '../support/index.js';
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

  it('a child that accepts connections but runs no handshake: the warning names the missing HELO and the shared-key fix', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    // A fluentd whose in_forward lacks the <security> section: it takes connections and never
    // sends HELO, while warden (forward.shared_key: auto) waits for one.
    const fwd = await freePort();
    const silent = `require('net').createServer((s) => s.on('error', () => {})).listen(${fwd}, '127.0.0.1'); setInterval(() => {}, 1000)`;
    const { config: c } = await config(t.dir, [process.execPath, '-e', silent]);
    c.forward = { ...c.forward, to: `tcp://127.0.0.1:${fwd}` };
    const w = (scope.running = spawnWarden(t.dir, c));
    await waitFor('the ready timeout', () => logEntries(w.output()).some((l) => l.msg === 'child did not accept a connection in time; restarting it'), 20_000);
    const entries = logEntries(w.output());
    const timeout = entries.find((l) => l.msg === 'child did not accept a connection in time; restarting it')!;
    expect(String(timeout.forward_error)).toContain('accepted the connection but sent no HELO');
    expect(String(timeout.forward_error)).toContain("shared_key \"#{ENV['WARDEN_FORWARD_SHARED_KEY']}\"");
    // Seen as soon as it happens, at warn, once — not only at the timeout.
    const told = entries.filter((l) => l.level === 'warn' && String(l.msg).includes('sent no HELO'));
    expect(told).toHaveLength(1);
    expect(entries.filter((l) => l.msg === 'child ready')).toEqual([]);
  });

  it('a port held by another process that answers Forward: not ready, /readyz and /status name it; ready once it is gone', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    const fwd = await freePort();
    // Without a shared key any Forward receiver passes the handshake: a leftover sink or fluentd
    // outside the child's tree, say. The child retries its own receiver until the port is free.
    const sink = (out: string) => `${JSON.stringify(process.execPath)} ${JSON.stringify(WARDEN)} sink --listen tcp://127.0.0.1:${fwd} --out ${JSON.stringify(out)}`;
    const child = ['/bin/sh', '-c', `while ! ${sink(join(t.dir, 'out.ndjson'))}; do sleep 0.2; done`];
    const { config: c } = await config(t.dir, child, 5000);
    c.forward = { to: `tcp://127.0.0.1:${fwd}`, connect_timeout_ms: 5000, shared_key: 'none' } as typeof c.forward;
    c.child.ready_timeout_s = 60;
    const squatter = spawn('/bin/sh', ['-c', `exec ${sink('/dev/null')}`], { stdio: 'ignore' });
    const squatterExited = new Promise((r) => squatter.once('exit', r));
    scope.deferred.push(() => squatter.kill('SIGKILL'));
    // Listening once the port can no longer be bound.
    await waitFor('the squatter listening', () => new Promise<boolean>((r) => {
      const s = createServer().once('error', () => r(true)).listen(fwd, '127.0.0.1', () => s.close(() => r(false)));
    }), 10_000);
    const w = (scope.running = spawnWarden(t.dir, c));

    const held = await waitFor('the holder named in /readyz', async () => {
      const r = await w.get('/readyz');
      return r.status === 503 && /held by/.test(r.body) ? JSON.parse(r.body) : null;
    }, 20_000);
    expect(held.reasons.join('\n')).toContain(`Forward port tcp://127.0.0.1:${fwd} is held by pid ${squatter.pid} (node)`);
    const status = await w.json('/status');
    expect(status.child.state).toBe('starting');
    expect(status.child.port_held_by).toEqual({ pid: squatter.pid, comm: 'node' });
    // warden's log is written asynchronously: it may reach stdout after /readyz says so.
    const warned = await waitFor('the warning', () => logEntries(w.output()).find((l) => l.msg?.startsWith('the Forward port is held by another process')), 5000);
    expect(warned).toMatchObject({ level: 'warn', holder_pid: squatter.pid, holder_comm: 'node' });
    expect(logEntries(w.output()).filter((l) => l.msg === 'child ready')).toEqual([]);

    squatter.kill('SIGTERM');
    await squatterExited;
    await waitFor('ready once the port is the child\'s', async () => (await w.get('/readyz')).status === 200, 20_000);
    expect((await w.json('/status')).child.port_held_by).toBeNull();
    await waitFor('"child ready" logged', () => logEntries(w.output()).some((l) => l.msg === 'child ready'), 5000);
    expect(logEntries(w.output()).filter((l) => l.msg === 'child ready')).toHaveLength(1);
  });

  it('a port holder the Forward client was already connected to when the child restarted is named in /readyz while the next child starts, and left alone', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    // The child lives but never listens; a process outside it listens, reads and never answers.
    const { fwdPort, config: c } = await config(t.dir, [process.execPath, '-e', 'setInterval(() => {}, 1000)'], 5000);
    c.forward = { ...c.forward, shared_key: 'none' } as typeof c.forward;
    c.child.ready_timeout_s = 60;
    const src = `require('node:net').createServer((s) => { s.on('error', () => {}); s.resume(); }).listen(${fwdPort}, '127.0.0.1', () => console.log('up'))`;
    const squatter = spawn(process.execPath, ['-e', src], { stdio: ['ignore', 'pipe', 'ignore'] });
    scope.deferred.push(() => squatter.kill('SIGKILL'));
    await new Promise((r) => squatter.stdout!.once('data', r));
    const w = (scope.running = spawnWarden(t.dir, c));
    const named = (r: { status: number; body: string }) => r.status === 503 && r.body.includes(`held by pid ${squatter.pid} (node)`);
    await waitFor('the holder named for the first child', async () => named(await w.get('/readyz')), 20_000);
    const first = (await w.json('/status')).child.pid as number;
    // The client stays connected to the holder: the next child's probe sees no new connection.
    process.kill(first, 'SIGKILL');
    await waitFor('the next child starting', async () => {
      const s = await w.json('/status');
      return s.child.pid !== null && s.child.pid !== first && s.child.state === 'starting';
    }, 20_000);
    const readyz = await waitFor('the holder named for the next child', async () => {
      const r = await w.get('/readyz');
      return named(r) ? r : null;
    }, 5000, 100);
    expect(JSON.parse(readyz.body).reasons.join('\n')).toContain(`Forward port tcp://127.0.0.1:${fwdPort} is held by pid ${squatter.pid} (node)`);
    expect((await w.json('/status')).child.port_held_by).toEqual({ pid: squatter.pid, comm: 'node' });
    // Not the child's (it carries no mark of this warden): named, never killed.
    expect(squatter.exitCode).toBeNull();
    expect(squatter.signalCode).toBeNull();
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
