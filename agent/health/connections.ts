// The health server's connections, bounded so that a probe always gets in. A client on the node
// shares the kubelet's address (the node IP, or 127.0.0.1), so neither refusing new connections
// at a cap nor a per-address cap can tell a probe from a flood: whoever reconnects fastest holds
// every slot (0 of 48 probes answered under 2,000 idle and 300 slowloris clients). What tells them
// apart is that a probe sends its whole request head at once. So a new connection is always
// taken, and at the cap one that is only waiting (kept alive after a response, or still without a
// whole head) makes room for it; every such wait ends after HEAD_DEADLINE_MS. Only when every
// held connection is answering a request of its own is the new one closed. Descriptors stay
// bounded by MAX_CONNECTIONS whatever the clients do.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Connections held at once; every descriptor held here is one the tail pipeline cannot use. */
export const MAX_CONNECTIONS = 64;
/** From its accept, or from the end of its last response, a connection has this long to send a whole request head. */
export const HEAD_DEADLINE_MS = 1000;
/** A response not written out within this long (a client that does not read) ends its connection. */
export const RESPONSE_DEADLINE_MS = 5000;
/** A response in progress for longer than this may be ended to make room for a new connection. */
export const BUSY_EVICTABLE_MS = 1000;

/**
 * One connection's state. `head`: waiting for a request head (just accepted, or kept alive after a
 * response); evictable at any time. `busy`: a request is being answered; evictable only once it
 * has taken longer than BUSY_EVICTABLE_MS. Each state has its own deadline, after which the
 * connection is destroyed.
 */
export interface Conn {
  socket: Socket;
  address: string;
  state: 'head' | 'busy';
  /** When the connection entered its state. */
  since: number;
  /** Requests answered on it so far: a kept-alive connection has had its turn. */
  served: number;
  busy: number;
  timer: NodeJS.Timeout | null;
}

/** Tracks every connection `server` accepts and holds it to the bounds above. */
export function boundConnections(server: Server, now: () => number = Date.now): void {
  const conns = new Map<Socket, Conn>();

  const enter = (c: Conn, state: Conn['state']) => {
    c.state = state;
    c.since = now();
    if (c.timer) clearTimeout(c.timer);
    // Judged after the loop's poll phase (setImmediate), not in the timers phase: after a stall of
    // the event loop past the deadline (a GC pause, a CPU-throttled pod), the timer runs before the
    // bytes that arrived meanwhile are read, and would end a probe that sent its head in time.
    const timer = setTimeout(() => setImmediate(() => c.timer === timer && c.socket.destroy()), state === 'head' ? HEAD_DEADLINE_MS : RESPONSE_DEADLINE_MS);
    c.timer = timer.unref();
  };

  server.on('connection', (socket: Socket) => {
    if (conns.size >= MAX_CONNECTIONS) {
      const victim = pickVictim(conns.values(), now());
      if (!victim) {
        socket.destroy();
        return;
      }
      drop(conns, victim);
    }
    const c: Conn = { socket, address: socket.remoteAddress ?? '', state: 'head', since: 0, served: 0, busy: 0, timer: null };
    conns.set(socket, c);
    enter(c, 'head');
    socket.once('close', () => drop(conns, c));
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const c = conns.get(req.socket);
    if (!c) return;
    c.busy++;
    if (c.state !== 'busy') enter(c, 'busy');
    res.once('close', () => {
      c.busy--;
      c.served++;
      if (c.busy === 0 && conns.has(c.socket)) enter(c, 'head');
    });
  });
}

function drop(conns: Map<Socket, Conn>, c: Conn): void {
  if (c.timer) clearTimeout(c.timer);
  c.timer = null;
  conns.delete(c.socket);
  c.socket.destroy();
}

/**
 * The connection that makes room: from the address holding the most connections (a flood from one
 * address does not push out another's), the first of kept-alive idle, then waiting for its first
 * head, then busy for longer than BUSY_EVICTABLE_MS; within each, the one waiting longest. Null
 * when every connection is answering a request it got just now.
 */
export function pickVictim(conns: Iterable<Conn>, at: number): Conn | null {
  const all = [...conns];
  const perAddress = new Map<string, number>();
  for (const c of all) perAddress.set(c.address, (perAddress.get(c.address) ?? 0) + 1);
  let best: Conn | null = null;
  let bestKey: [number, number, number] | null = null;
  for (const c of all) {
    const rank = c.state === 'head' ? (c.served > 0 ? 0 : 1) : at - c.since > BUSY_EVICTABLE_MS ? 2 : -1;
    if (rank < 0) continue;
    const key: [number, number, number] = [-(perAddress.get(c.address) ?? 0), rank, c.since];
    if (!bestKey || less(key, bestKey)) {
      best = c;
      bestKey = key;
    }
  }
  return best;
}

function less(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
