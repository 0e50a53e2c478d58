import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { boundConnections, BUSY_EVICTABLE_MS, HEAD_DEADLINE_MS, pickVictim, type Conn } from '../../../agent/health/connections.js';

const AT = 100_000;

function conn(name: string, address: string, state: Conn['state'], since: number, served = 0): Conn & { name: string } {
  return { name, socket: {} as Socket, address, state, since, served, busy: state === 'busy' ? 1 : 0, timer: null };
}

const victim = (conns: Array<Conn & { name: string }>) => (pickVictim(conns, AT) as (Conn & { name: string }) | null)?.name ?? null;

describe('the connection that makes room', () => {
  it('comes from the address holding the most connections', () => {
    expect(victim([conn('a1', 'a', 'head', AT - 900), conn('b1', 'b', 'head', AT - 10), conn('b2', 'b', 'head', AT - 5)])).toBe('b1');
  });

  it('is a kept-alive idle one before one still waiting for its first head, then the one waiting longest', () => {
    expect(victim([conn('fresh-old', 'a', 'head', AT - 900), conn('kept', 'a', 'head', AT - 10, 1)])).toBe('kept');
    expect(victim([conn('newer', 'a', 'head', AT - 100), conn('older', 'a', 'head', AT - 800)])).toBe('older');
  });

  it('is a busy one only once its response has taken longer than BUSY_EVICTABLE_MS, and none when all are just answering', () => {
    expect(victim([conn('busy-stuck', 'a', 'busy', AT - BUSY_EVICTABLE_MS - 1), conn('head', 'a', 'head', AT - 1)])).toBe('head');
    expect(victim([conn('busy-stuck', 'a', 'busy', AT - BUSY_EVICTABLE_MS - 1), conn('busy-now', 'a', 'busy', AT - 1)])).toBe('busy-stuck');
    expect(victim([conn('busy-now', 'a', 'busy', AT - 1), conn('busy-now-2', 'b', 'busy', AT - 2)])).toBeNull();
  });
});

describe('the head deadline', () => {
  it('does not end a connection whose head arrived while the event loop was stalled past the deadline', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    boundConnections(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const accepted = new Promise<void>((r) => server.once('connection', () => r()));
      const client = connect(port, '127.0.0.1');
      const reply = new Promise<string>((resolve, reject) => {
        let got = '';
        client.on('data', (d) => (got += d));
        client.on('end', () => resolve(got));
        client.on('error', reject);
      });
      await accepted;
      client.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      // The whole head is on the socket; the loop is then held past the deadline (a GC pause, a
      // CPU-throttled pod): the deadline's timer runs before the head is read in the same turn.
      const until = Date.now() + HEAD_DEADLINE_MS + 300;
      while (Date.now() < until);
      expect(await reply).toMatch(/^HTTP\/1\.1 200[\s\S]*ok$/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
