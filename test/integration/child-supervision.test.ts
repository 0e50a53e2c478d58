// Issue 15 items 4, 9, 14 and 15, run as a user runs warden (dist/warden.mjs, `npm run build`):
// what /status and the log show of the child's command, a child flooding its stdout (behind a
// slow reader, a fast one, and none at all), and descendants of the child that try to outlive it.
import { spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, WARDEN, fixture, tempDir, waitFor, alive, freePort, killQuietly, logEntries, rssKb, sinkLogs, sleep, type LogEntry } from '../support/index.js';
import { exitWithin, wardenScope, spawnWarden } from '../support/warden.js';
import { childScope } from '../support/child.js';
import { faultConfig, wardenConfig } from '../support/faults.js';
import { TreeWalker } from '../../supervisor/procfs/tree.js';
import { STARTING_RETRY_MS } from '../../agent/forward/reconnect.js';
import { MARKER_ENV, markerValue, newToken } from '../../supervisor/child/marker.js';

const scope = wardenScope();
const children = childScope();

/** Waits until `grandchild` left `first` (its parent is no longer the child's leader). */
function reparented(grandchild: number, first: number): Promise<unknown> {
  return waitFor('the grandchild reparented', () => {
    const st = readFileSync(`/proc/${grandchild}/stat`, 'utf8');
    return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) !== first;
  }, 20_000);
}

/** Kills the child `first` and answers whether `grandchild` was still alive when the next child started (then kills it). */
async function aliveAtNextStart(child: EventEmitter, first: number, grandchild: number): Promise<boolean | null> {
  let aliveThen: boolean | null = null;
  child.on('state', (st: { state: string; pid: number | null }) => {
    if (st.pid !== null && st.pid !== first && aliveThen === null) aliveThen = alive(grandchild);
  });
  process.kill(first, 'SIGKILL');
  await waitFor('the next start', () => aliveThen !== null, 20_000);
  killQuietly(grandchild);
  return aliveThen;
}

/** SIGKILL of `pid` after the test, for what a test expects to be gone by then and must not outlive it. */
const killAfterTest = (pid: number) => scope.deferred.push(() => killQuietly(pid));

/** The pid in the `grandchild PID` line the fixture's child prints (setsid-grandchild.mjs, double-fork-listener.mjs). */
async function grandchildPid(entries: () => readonly LogEntry[]): Promise<number> {
  const line = await waitFor('the grandchild pid', () => entries().find((e) => /^grandchild \d+$/.test(e.msg ?? '')), 20_000);
  return Number(line.msg.split(' ')[1]);
}

/**
 * A fault config whose child is the fixture `name` listening on the Forward port itself ($PORT,
 * `env` on top): no Forward receiver, so no handshake (shared_key none), readiness is the connection.
 */
async function listenerConfig(name: string, env: Record<string, string> = {}, stopGraceS = 1) {
  const t = tempDir('warden-sup-');
  scope.cleanup = t.cleanup;
  const c = await faultConfig(t.dir);
  c.forward = { ...c.forward, shared_key: 'none' };
  c.child = { ...c.child, command: [process.execPath, fixture(name)], env: { PORT: String(c.fwdPort), ...env }, stop_grace_s: stopGraceS };
  return { t, c };
}

/** /status once it lists a holder of the Forward port (the holder `pid` when given). */
function statusWithPortHolder(w: { json: (path: string) => Promise<any> }, pid?: number): Promise<any> {
  return waitFor('the port holder in /status', async () => {
    const s = await w.json('/status');
    const holders: Array<{ pid: number }> = s.forward.port_holders ?? [];
    return (pid === undefined ? holders.length > 0 : holders.some((h) => h.pid === pid)) ? s : null;
  }, 20_000, 50);
}

/** Max RSS (MiB) of `pid` sampled every 100 ms for `ms`. */
async function maxRssMib(pid: number, ms: number): Promise<number> {
  let maxKb = 0;
  for (const end = Date.now() + ms; Date.now() < end; ) {
    maxKb = Math.max(maxKb, rssKb(pid) ?? 0);
    await sleep(100);
  }
  return maxKb / 1024;
}

/**
 * warden with the close-first proxy (test/fixtures/children/close-first.mjs) as its child, `env`
 * on top, and a line appended every 50 ms (always something pending). No handshake: the
 * connection is ready when accepted, so the one the proxy closes is a lost connection.
 */
async function proxyChild(env: Record<string, string>, hangS: number) {
  const t = tempDir('warden-sup-');
  scope.cleanup = t.cleanup;
  const c = await faultConfig(t.dir);
  c.forward = { ...c.forward, shared_key: 'none' };
  c.child = {
    ...c.child,
    command: [process.execPath, fixture('close-first.mjs')],
    env: { PORT: String(c.fwdPort), SINK_PORT: String(await freePort()), OUT: c.out, WARDEN_BIN: WARDEN, ...env },
    hang_timeout_s: hangS,
    restart: { backoff_initial_ms: 300, backoff_max_ms: 1000, stable_after_s: 30, degraded_after: 10 },
  };
  const file = join(c.logs, 'app.log');
  writeFileSync(file, '');
  scope.running = spawnWarden(t.dir, wardenConfig(c));
  let n = 0;
  const writer = setInterval(() => writeFileSync(file, `line ${n++}\n`, { flag: 'a' }), 50);
  scope.deferred.push(() => clearInterval(writer));
  return { c, w: scope.running, written: () => n, stop: () => clearInterval(writer) };
}

describe('the command as configured', () => {
  it('a ${VAR} in child.command shows unexpanded in /status and in "child started"; the child gets the value', async () => {
    const t = tempDir('warden-sup-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    const SECRET = 'tok-5d2f9a0c77e1';
    const out = join(t.dir, `out-${SECRET}.ndjson`);
    c.child.command = ['warden', 'sink', '--listen', c.forward.to, '--out', '${WARDEN_TEST_SINK_OUT}'];
    writeFileSync(join(c.logs, 'app.log'), 'hello\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c), { env: { WARDEN_TEST_SINK_OUT: out } });
    const w = scope.running;
    // The child did get the expanded value: it writes where the variable says.
    await waitFor('a line delivered', () => existsSync(out) && readFileSync(out, 'utf8').includes('hello'), 20_000);
    const status = await w.json('/status');
    expect(status.child.command).toEqual(['warden', 'sink', '--listen', c.forward.to, '--out', '${WARDEN_TEST_SINK_OUT}']);
    expect(JSON.stringify(status)).not.toContain(SECRET);
    const started = logEntries(w.stdout()).find((l) => l.msg === 'child started') as Record<string, any>;
    expect(started.command).toEqual(status.child.command);
    expect(JSON.stringify(started)).not.toContain(SECRET);
  }, 40_000);
});

describe('a child flooding its stdout', () => {
  it('warden stays under 150 MiB RSS behind a slow reader, counts what it dropped, and SIGTERM ends it within the grace', async () => {
    const { t, c } = await listenerConfig('flood.mjs', { FLOOD_S: '40' }, 3);
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    // warden's stdout read like a slow log collector would: 64 KiB at most every 20 ms; only the
    // last bytes kept (the harness would keep everything).
    const stdout = w.proc.stdout!;
    stdout.removeAllListeners('data');
    let tail = '';
    stdout.on('data', (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-64 * 1024);
      stdout.pause();
      setTimeout(() => stdout.resume(), 20).unref();
    });
    await waitFor('the child ready', async () => (await w.json('/status')).child.state === 'ready', 20_000);
    expect(await maxRssMib(w.proc.pid!, 10_000)).toBeLessThan(150);
    const metrics = (await w.get('/metrics')).body;
    const dropped = Number(/^warden_child_log_dropped_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(dropped).toBeGreaterThan(0);
    const t0 = Date.now();
    w.proc.kill('SIGTERM');
    const exit = await exitWithin(w, 3000 + 12_000);
    expect(exit, `warden still running ${Date.now() - t0} ms after SIGTERM`).not.toBeNull();
    expect(exit!.code).toBe(0);
  }, 90_000);
});

describe('a child flooding its stdout, warden\'s own stdout read fast or not at all', () => {
  it('`yes` of 200-byte lines for 20 s, warden\'s stdout read as fast as it comes: under 150 MiB RSS (with the shipped V8 flags)', async () => {
    const t = tempDir('warden-sup-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    c.child = { ...c.child, command: ['sh', '-c', "yes $(head -c 200 /dev/zero | tr '\\0' x)"], stop_grace_s: 3 };
    const nodeFlags = String(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).config.nodeFlags).split(' ').filter(Boolean);
    scope.running = spawnWarden(t.dir, wardenConfig(c), { nodeFlags });
    const w = scope.running;
    // Only the last bytes kept: the harness would keep everything.
    const stdout = w.proc.stdout!;
    stdout.removeAllListeners('data');
    let tail = '';
    stdout.on('data', (d: Buffer) => (tail = (tail + d.toString('utf8')).slice(-64 * 1024)));
    await waitFor('child lines in warden\'s log', () => tail.includes('x'.repeat(200)), 20_000);
    expect(await maxRssMib(w.proc.pid!, 20_000)).toBeLessThan(150);
    w.proc.kill('SIGTERM');
    const exit = await exitWithin(w, 15_000);
    expect(exit).not.toBeNull();
    expect(exit!.code).toBe(0);
  }, 60_000);

  it('warden\'s stdout a pipe nobody reads: RSS stays bounded, and SIGTERM ends warden within 10 s with exit code 0', async () => {
    const { t, c } = await listenerConfig('flood.mjs', { FLOOD_S: '60' }, 3);
    // `warden run … | sleep 1000`: the pipe fills once and stays full.
    const reader = spawn('sleep', ['1000'], { stdio: ['pipe', 'ignore', 'ignore'] });
    scope.deferred.push(() => reader.kill('SIGKILL'));
    scope.running = spawnWarden(t.dir, wardenConfig(c), { stdout: reader.stdin! });
    const w = scope.running;
    await waitFor('the child ready', async () => (await w.json('/status')).child.state === 'ready', 20_000);
    expect(await maxRssMib(w.proc.pid!, 8000)).toBeLessThan(150);
    const metrics = (await w.get('/metrics')).body;
    expect(Number(/^warden_child_log_dropped_total (\d+)/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    const t0 = Date.now();
    w.proc.kill('SIGTERM');
    const exit = await exitWithin(w, 10_000);
    expect(exit, `warden still running ${Date.now() - t0} ms after SIGTERM`).not.toBeNull();
    expect(exit!.code).toBe(0);
  }, 60_000);
});

describe('a child that accepts connections and never acks', () => {
  it('each start gets a full hang_timeout_s window; hung restarts back off and make the child degraded', async () => {
    const t = tempDir('warden-sup-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    c.forward = { ...c.forward, shared_key: 'none', ack_timeout_s: 60 };
    c.child = {
      ...c.child,
      command: [process.execPath, fixture('no-ack.mjs')],
      env: { PORT: String(c.fwdPort) },
      hang_timeout_s: 2,
      // stable_after_s below hang_timeout_s: a hung run must not count as stable all the same.
      restart: { backoff_initial_ms: 300, backoff_max_ms: 1500, stable_after_s: 1, degraded_after: 3 },
    };
    writeFileSync(join(c.logs, 'app.log'), 'never acked\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    const hungExits = () => logEntries(w.stdout()).filter((l) => l.msg === 'child exited' && l.reason === 'hung');
    const status = await waitFor('the child degraded', async () => {
      const s = await w.json('/status');
      return s.child.degraded ? s : null;
    }, 40_000);
    expect(status.child.last_exit.reason).toBe('hung');
    // The log line of the exit that made it degraded may reach warden's stdout after /status says so.
    const exits = await waitFor('three hung exits in the log', () => (hungExits().length >= 3 ? hungExits() : null), 10_000);
    for (const e of exits) expect(e.uptime_s).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe('a child that closes its first connection (a proxy whose receiver is not up yet), restarted after crashes', () => {
  it('each new child is connected to promptly, never on a backoff grown through the children before it, so none is killed as `hung`', async () => {
    // Each child listens 1 s after its start and holds its first ack 1.5 s: within its 3 s when
    // warden connects again at once, not when it waits out a backoff grown from the refusals
    // while the child before was down.
    const { c, w, written, stop } = await proxyChild({ LISTEN_DELAY_MS: '1000', FIRST_ACK_DELAY_MS: '1500', EXIT_AFTER_MS: '6000' }, 3);
    const entries = () => logEntries(w.stdout());
    await waitFor('four child starts', () => entries().filter((l) => l.msg === 'child started').length >= 4, 60_000, 200);
    stop();
    const exits = entries().filter((l) => l.msg === 'child exited');
    expect(exits.map((e) => e.reason)).not.toContain('hung');
    // A connection a new child closed is tried again within the receiver-starting retry, never on
    // a backoff grown through earlier children.
    const lost = entries().filter((l) => l.msg === 'Forward connection lost');
    expect(lost.length).toBeGreaterThanOrEqual(3);
    for (const l of lost) expect(l.retryInMs, JSON.stringify(l)).toBeLessThanOrEqual(STARTING_RETRY_MS);
    // Every line reaches a sink at last.
    await waitFor('every line delivered', () => new Set(sinkLogs(c.out)).size >= written(), 30_000, 200);
  }, 120_000);
});

describe('the hang timer counts the time a child held the connection with chunks unacked', () => {
  it('a child restarted with chunks unacked, that listens 2 s after its start and holds its first ack 3 s, is not `hung` at hang_timeout_s 4', async () => {
    // Each child passes no ack on for its last second, then crashes: the next one starts with
    // chunks pending for seconds already, and is up 5 s before its first ack, but connected with
    // chunks unacked for 3 s of them.
    const env = { LISTEN_DELAY_MS: '2000', FIRST_ACK_DELAY_MS: '3000', EXIT_AFTER_MS: '7000', MUTE_BEFORE_EXIT_MS: '1000' };
    const { c, w, written, stop } = await proxyChild(env, 4);
    const entries = () => logEntries(w.stdout());
    await waitFor('three child starts', () => entries().filter((l) => l.msg === 'child started').length >= 3, 60_000, 200);
    stop();
    expect(entries().filter((l) => l.msg === 'child exited').map((l) => l.reason)).toEqual(['exited(3)', 'exited(3)']);
    await waitFor('every line delivered', () => new Set(sinkLogs(c.out)).size >= written(), 30_000, 200);
  }, 90_000);

  it('a ready child that stops listening and refuses every attempt is still restarted as `hung`', async () => {
    const { w } = await proxyChild({ UNLISTEN_AFTER_MS: '3000' }, 2);
    const exit = await waitFor('the child exited', () => logEntries(w.stdout()).find((l) => l.msg === 'child exited'), 30_000, 100);
    expect(exit.reason).toBe('hung');
  }, 60_000);
});

describe('descendants that leave the child process group', () => {
  it('/status names the setsid grandchild holding the Forward port; stop kills it although it was reparented away', async () => {
    const { t, c } = await listenerConfig('setsid-grandchild.mjs');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    const grandchild = await grandchildPid(() => logEntries(w.stdout()));
    killAfterTest(grandchild);
    const status = await statusWithPortHolder(w);
    expect(status.forward.port_holders).toEqual([{ pid: grandchild, command: 'node', descendant: true }]);
    // Wait until the intermediate has exited: the grandchild is no longer below the child.
    await reparented(grandchild, status.child.pid);
    const exit = await w.stop();
    expect(exit.code).toBe(0);
    expect(alive(grandchild)).toBe(false);
  }, 60_000);
});

describe('a grandchild that double-forks out of the child\'s tree (setsid, its parent gone at once)', () => {
  it('is the child\'s in /status from the first look, and warden\'s SIGTERM ends it although no walk of the tree ever saw it', async () => {
    const { t, c } = await listenerConfig('double-fork-listener.mjs');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    const grandchild = await grandchildPid(() => logEntries(w.stdout()));
    killAfterTest(grandchild);
    const status = await statusWithPortHolder(w);
    expect(readFileSync(`/proc/${grandchild}/stat`, 'utf8')).not.toContain(` ${status.child.pid} `); // not below the child
    expect(status.forward.port_holders).toEqual([{ pid: grandchild, command: 'node', descendant: true }]);
    const exit = await w.stop();
    expect(exit.code).toBe(0);
    expect(alive(grandchild)).toBe(false);
    const stopped = logEntries(w.stdout()).find((l) => l.msg === 'stopping processes of the child outside its process group too');
    expect(stopped?.processes).toEqual([{ pid: grandchild, comm: 'node' }]);
  }, 60_000);

  it('/status lists a port holder only while it runs: one just killed is not listed', async () => {
    const { t, c } = await listenerConfig('double-fork-listener.mjs');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    const [holder] = (await statusWithPortHolder(w)).forward.port_holders as { pid: number }[];
    killAfterTest(holder!.pid);
    process.kill(holder!.pid, 'SIGKILL');
    await waitFor('the holder gone', () => !alive(holder!.pid), 5000, 5);
    expect((await w.json('/status')).forward.port_holders).toEqual([]);
  }, 60_000);
});

describe('warden killed with its child running', () => {
  it('the next warden on the same state_dir ends what that child left (a double-forked grandchild on the Forward port) before its first start; other wardens\' and unmarked processes stay', async () => {
    const { t, c } = await listenerConfig('double-fork-listener.mjs');
    const grandchildOf = (w: { stdout: () => string }) => grandchildPid(() => logEntries(w.stdout()));
    // A process marked by another warden, and one not marked at all.
    const idle = "setInterval(() => {}, 1000)";
    const other = spawn(process.execPath, ['-e', idle], { stdio: 'ignore', env: { ...process.env, WARDEN_CHILD: `${'0'.repeat(32)}.1` } });
    const plain = spawn(process.execPath, ['-e', idle], { stdio: 'ignore' });
    for (const p of [other, plain]) killAfterTest(p.pid!);

    const before = spawnWarden(t.dir, wardenConfig(c));
    scope.deferred.push(() => before.kill());
    const grandchild = await grandchildOf(before);
    killAfterTest(grandchild);
    const child = (await waitFor('the child running', async () => (await before.json('/status')).child.pid, 20_000)) as number;
    killAfterTest(child);
    before.proc.kill('SIGKILL');
    await before.exited;
    expect(alive(child)).toBe(true);
    expect(alive(grandchild)).toBe(true);

    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    const next = await grandchildOf(w);
    killAfterTest(next);
    // The next grandchild could bind the port: the old one was gone before the next child started.
    const status = await statusWithPortHolder(w, next);
    expect(status.forward.port_holders).toEqual([{ pid: next, command: 'node', descendant: true }]);
    expect(alive(grandchild)).toBe(false);
    expect(alive(child)).toBe(false);
    const entries = logEntries(w.stdout());
    const swept = entries.findIndex((l) => l.msg?.startsWith('stopping what the children of the warden before left running'));
    expect(swept).toBeGreaterThanOrEqual(0);
    expect(swept).toBeLessThan(entries.findIndex((l) => l.msg === 'child started'));
    expect(entries[swept]!.processes).toEqual(expect.arrayContaining([{ pid: grandchild, comm: 'node' }, { pid: child, comm: 'node' }]));
    expect(entries[swept]!.processes).toHaveLength(2);
    expect(alive(other.pid!)).toBe(true);
    expect(alive(plain.pid!)).toBe(true);
  }, 60_000);
});

describe('a restart after a crash', () => {
  it('with the governor walking the tree (a shared TreeWalker), the child makes no walk of its own and still kills the escaped grandchild', async () => {
    const port = await freePort();
    const walker = new TreeWalker();
    let walks = 0;
    let governorWalks = 0;
    const walk = walker.walk.bind(walker);
    walker.walk = (pid: number) => {
      walks++;
      return walk(pid);
    };
    let asked = 0;
    const latest = walker.latest.bind(walker);
    walker.latest = (pid: number, maxAgeMs: number) => {
      asked++;
      return latest(pid, maxAgeMs);
    };
    const h = children.make({ command: [process.execPath, fixture('setsid-grandchild.mjs')], port, env: { PORT: String(port), INTERMEDIATE_MS: '1500' }, walker });
    // The governor's sampler: a walk of the child's tree every 250 ms.
    const governor = setInterval(() => {
      const pid = h.child.pid();
      if (pid === null) return;
      governorWalks++;
      walker.walk(pid);
    }, 250);
    try {
      h.child.start();
      const grandchild = await grandchildPid(() => h.entries);
      const first = h.child.pid()!;
      await reparented(grandchild, first);
      await waitFor('a few seconds of sampling', () => governorWalks >= 8 && asked >= 2, 20_000);
      // The child asked the shared walker each second and was always served the governor's walk.
      expect(asked).toBeGreaterThanOrEqual(2);
      expect(walks).toBe(governorWalks);
      expect(await aliveAtNextStart(h.child, first, grandchild)).toBe(false);
    } finally {
      clearInterval(governor);
    }
  }, 60_000);

  it('kills the old child\'s double-forked grandchild, which no walk of its tree ever saw, before the next start', async () => {
    const port = await freePort();
    const h = children.make({ command: [process.execPath, fixture('double-fork-listener.mjs')], port, env: { PORT: String(port) } });
    h.child.start();
    const grandchild = await grandchildPid(() => h.entries);
    const first = h.child.pid()!;
    await reparented(grandchild, first);
    expect(await aliveAtNextStart(h.child, first, grandchild)).toBe(false);
    const killed = h.entries.find((e) => e.msg === 'killing processes that left the child process group');
    expect(killed?.processes).toEqual([{ pid: grandchild, comm: 'node' }]);
  }, 60_000);

  it('a process marked by an earlier run that holds the Forward port while the child starts is killed; the child then gets the port', async () => {
    const port = await freePort();
    const marks = { token: newToken(), since: 0, previous: null };
    // The child listens 1.5 s after its start, retrying while the port is taken.
    const listen = `const l = () => require('node:net').createServer((s) => s.destroy()).once('error', () => setTimeout(l, 100)).listen(${port}, '127.0.0.1', () => console.log('listening')); setTimeout(l, 1500)`;
    const h = children.make({ command: [process.execPath, '-e', listen], port, marks });
    h.child.start();
    await waitFor('the child started', () => h.child.pid(), 10_000);
    // Something left by run 7 of this warden takes the port meanwhile.
    const src = `require('node:net').createServer(() => {}).listen(${port}, '127.0.0.1', () => console.log('up'))`;
    const leftover = spawn(process.execPath, ['-e', src], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, [MARKER_ENV]: markerValue(marks.token, 7) } });
    try {
      const gone = new Promise((r) => leftover.once('exit', (_code, signal) => r(signal)));
      await new Promise((r) => leftover.stdout!.once('data', r));
      expect(await Promise.race([gone, sleep(5000).then(() => 'still running')])).toBe('SIGKILL');
      const killed = h.entries.find((e) => e.msg === 'the Forward port is held by a process an earlier child left running; killing it');
      expect(killed).toMatchObject({ holder_pid: leftover.pid, holder_comm: 'node' });
      await waitFor('the child ready', () => h.child.status().state === 'ready', 20_000);
    } finally {
      leftover.kill('SIGKILL');
    }
  }, 60_000);

  it('kills the old child\'s escaped, reparented grandchild before the next start', async () => {
    const port = await freePort();
    const h = children.make({ command: [process.execPath, fixture('setsid-grandchild.mjs')], port, env: { PORT: String(port), INTERMEDIATE_MS: '1500' } });
    h.child.start();
    const grandchild = await grandchildPid(() => h.entries);
    const first = h.child.pid()!;
    await reparented(grandchild, first);
    expect(await aliveAtNextStart(h.child, first, grandchild)).toBe(false);
  }, 60_000);
});
