// Issue 15 items 10 and 11: what a hostile peer can make warden hold. A Forward receiver that
// answers with a huge message, and clients that open health connections and never finish them,
// over real sockets on loopback. Every loop here is bounded and ends by itself.
import { connect, createServer, type Socket } from 'node:net';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ForwardClient } from '../../agent/forward/client.js';
import { createMetrics } from '../../agent/health/metrics.js';
import { startHealthServer } from '../../agent/health/server.js';
import { captureLogger, waitFor } from '../support/index.js';

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

function healthz(port: number, localAddress: string): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health server connection bounds', () => {
  it('per address, in total, and in time: idle connections go, /healthz from elsewhere still answers at once', async () => {
    const { logger } = captureLogger('debug');
    const ok = { ok: true, reasons: [] };
    const server = await startHealthServer('127.0.0.1:0', { live: () => ok, ready: () => ok, status: () => ({}), registry: createMetrics({ defaults: false }).registry }, logger);
    cleanups.push(() => server.close());

    // 100 idle connections from one address: all but 8 are closed at once.
    const one = await idle(server.port, 100, '127.0.0.1');
    await waitFor('the per-address bound', () => one.closed() >= 92, 3000);
    const probe = await healthz(server.port, '127.0.0.2');
    expect(probe.status).toBe(200);
    expect(probe.ms).toBeLessThan(1000);
    // The 8 that stayed never send a request: gone after the 2 s headers timeout (checked every 0.5 s).
    await waitFor('idle connections closed', () => one.closed() === 100, 4500);

    // 8 from each of 10 addresses (80): no more than 64 held at a time.
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => idle(server.port, 8, `127.0.0.${10 + i}`)));
    await new Promise((r) => setTimeout(r, 300));
    const open = many.reduce((n, m) => n + 8 - m.closed(), 0);
    expect(open).toBeLessThanOrEqual(64);
    many.forEach((m) => m.destroy());
  }, 30_000);
});
