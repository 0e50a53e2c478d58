// Issue 15 items 10 and 11: what a hostile peer can make warden hold. A Forward receiver that
// answers with a huge message, and clients that open health connections and never finish them,
// over real sockets on loopback. Every loop here is bounded and ends by itself.
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ForwardClient } from '../../agent/forward/client.js';
import { createMetrics } from '../../agent/health/metrics.js';
import { captureLogger, until } from './child-harness.js';

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

    const { logger, entries } = captureLogger();
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

    const lost = await until('the client to drop the connection', () => entries.find((e) => e.msg === 'Forward connection lost'), 30_000);
    expect(String(lost.err)).toContain(String(64 * 1024)); // the client's MAX_REPLY_BYTES
    expect(String(lost.err)).toMatch(/\d+ bytes so far/);
    await until('the receiver to see the close', () => closes.length > 0, 10_000);
    // Socket buffers on both sides hold a few MiB at most; the 100 MiB were never taken in.
    expect(closes[0]!).toBeLessThan(16 * 1024 * 1024);
  }, 60_000);
});
