// Issue 15 items 10 and 11: what a hostile peer can make warden hold. A Forward receiver that
// answers with a huge message, and clients that open health connections and never finish them
// (from a process of their own, reconnecting when dropped), over real sockets on loopback. Every
// loop here is bounded and ends by itself.
import { spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ForwardClient } from '../../agent/forward/client.js';
import { createMetrics } from '../../agent/health/metrics.js';
import { startHealthServer } from '../../agent/health/server.js';
import { HEAD_DEADLINE_MS, MAX_CONNECTIONS } from '../../agent/health/connections.js';
import { ROOT, captureLogger, sleep, waitFor } from '../support/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Forward client against a hostile receiver', () => {
  it('closes the connection on a reply larger than MAX_REPLY_BYTES, naming size and limit, without buffering it', async () => {
    const declared = 100 * 1024 * 1024;
    const closes: number[] = [];
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      let sent = 0;
      let open = true;
      s.on('close', () => {
        open = false;
        sockets.delete(s);
        closes.push(sent);
      });
      // msgpack str32 header announcing 100 MiB, then its body, written with back-pressure.
      const head = Buffer.from([0xdb, 0, 0, 0, 0]);
      head.writeUInt32BE(declared, 1);
      s.write(head);
      const piece = Buffer.alloc(64 * 1024, 0x61);
      void (async () => {
        while (open && sent < declared) {
          sent += piece.length;
          if (!s.write(piece)) await new Promise((r) => setTimeout(r, 5));
        }
      })();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(r)));
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    const port = (server.address() as { port: number }).port;

    const { logger, entries } = captureLogger('debug');
    const c = new ForwardClient({
      to: `tcp://127.0.0.1:${port}`,
      sharedKey: null,
      selfHostname: 'test-node',
      ackTimeoutMs: 60_000,
      connectTimeoutMs: 2000,
      maxInflight: 8,
      logger,
      metrics: createMetrics({ defaults: false }),
      reconnect: { initialMs: 5000, maxMs: 5000 },
    });
    cleanups.push(() => c.close());
    c.start();

    const lost = await waitFor('the client to drop the connection', () => entries.find((e) => e.msg === 'Forward connection lost'), 30_000);
    expect(String(lost.err)).toContain(String(64 * 1024)); // the client's MAX_REPLY_BYTES
    expect(String(lost.err)).toMatch(/\d+ bytes so far/);
    await waitFor('the receiver to see the close', () => closes.length > 0, 10_000);
    // Socket buffers on both sides hold a few MiB at most; the 100 MiB were never taken in.
    expect(closes[0]!).toBeLessThan(16 * 1024 * 1024);
  }, 60_000);
});

/** `n` idle TCP connections to `port` from `localAddress`; `closed()` counts those the server ended. */
async function idle(port: number, n: number, localAddress: string): Promise<{ closed: () => number; destroy: () => void }> {
  const socks: Socket[] = [];
  let closed = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, localAddress });
        socks.push(s);
        s.on('error', () => {});
        s.once('close', () => closed++);
        s.once('connect', () => resolve());
        s.once('close', () => resolve());
      }),
    ),
  );
  const destroy = () => socks.forEach((s) => s.destroy());
  cleanups.push(destroy);
  return { closed: () => closed, destroy };
}

/**
 * `/healthz` on a new connection, as the kubelet asks it (from `localAddress` when given); status
 * -1 when no answer came within `timeoutMs`, -2 when the connection failed.
 */
function healthz(port: number, timeoutMs: number, localAddress?: string): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const done = (status: number) => {
      clearTimeout(timer);
      resolve({ status, ms: Date.now() - t0 });
    };
    const req = request({ host: '127.0.0.1', port, path: '/healthz', localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(-1);
    }, timeoutMs);
    req.on('error', () => done(-2));
    req.end();
  });
}

/** A health server on a free port that is always live and ready, closed after the test. */
async function healthServer() {
  const { logger } = captureLogger('debug');
  const ok = { ok: true, reasons: [] };
  const server = await startHealthServer('127.0.0.1:0', { live: () => ok, ready: () => ok, status: () => ({}), registry: createMetrics({ defaults: false }).registry }, logger);
  cleanups.push(() => server.close());
  return server;
}

describe('health server connection bounds', () => {
  it('in total and in time: the oldest idle connections make room, the rest go after the head deadline, /healthz answers at once', async () => {
    const server = await healthServer();

    // 100 idle connections from one address: the oldest 36 are closed at once, 64 are held.
    const one = await idle(server.port, 100, '127.0.0.1');
    await waitFor('the total bound', () => one.closed() >= 100 - MAX_CONNECTIONS, 3000);
    // A probe gets in from another address and from the flood's own.
    for (const from of ['127.0.0.2', '127.0.0.1']) {
      const probe = await healthz(server.port, 5000, from);
      expect(probe.status, `from ${from}: -1 no answer in 5 s, -2 refused`).toBe(200);
      expect(probe.ms).toBeLessThan(1000);
    }
    // The 64 that stayed never send a request: gone after the 1 s head deadline.
    const t0 = Date.now();
    await waitFor('idle connections closed', () => one.closed() === 100, 3000);
    expect(Date.now() - t0).toBeLessThan(HEAD_DEADLINE_MS + 1000);

    // 8 from each of 10 addresses (80): no more than 64 held at a time.
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => idle(server.port, 8, `127.0.0.${10 + i}`)));
    await new Promise((r) => setTimeout(r, 300));
    const open = many.reduce((n, m) => n + 8 - m.closed(), 0);
    expect(open).toBeLessThanOrEqual(MAX_CONNECTIONS);
    many.forEach((m) => m.destroy());
  }, 30_000);
});

const FLOOD = join(ROOT, 'test/fixtures/faults/health-flood.mjs');

/** Socket descriptors this process holds: with the flood in another process, the server's connections. */
function socketFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

describe('health server under a flood from the probe\'s own address', () => {
  it('300 idle and 100 slowloris clients reconnecting when dropped: 18 of 20 /healthz get 200 within 1 s, 64 connections at most', async () => {
    const server = await healthServer();
    const before = socketFds();
    // The flood runs in its own process: this one's event loop is the server's.
    const flood = spawn(process.execPath, [FLOOD], { env: { ...process.env, PORT: String(server.port), IDLE: '300', SLOW: '100' }, stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(() => flood.kill('SIGKILL'));
    let report = { held: 0, made: 0, dropped: 0 };
    createInterface({ input: flood.stdout! }).on('line', (l) => (report = JSON.parse(l)));
    // Far more connections made and dropped than can be held: every slot is contested.
    await waitFor('the flood cycling', () => report.dropped >= 2000, 30_000, 100);

    const probes: Array<{ status: number; ms: number }> = [];
    let maxSockets = 0;
    for (let i = 0; i < 20; i++) {
      probes.push(await healthz(server.port, 1000));
      maxSockets = Math.max(maxSockets, socketFds() - before);
      await sleep(150);
    }
    const answered = probes.filter((p) => p.status === 200).length;
    expect(answered, `probes (status or -1 no answer in 1 s, -2 refused): ${JSON.stringify(probes)}; flood ${JSON.stringify(report)}`).toBeGreaterThanOrEqual(18);
    // The server's connections; besides them, the flood's stdin and stdout and the probe's own socket.
    expect(maxSockets).toBeLessThanOrEqual(MAX_CONNECTIONS + 3);
  }, 60_000);
});
