// The health server: read-only snapshots over HTTP. It makes no decisions; the composition root
// hands it functions that return verdicts. It answers only GET and HEAD on its known paths,
// bounds request size and time, and never echoes what a client sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../../config/address.js';
import type { Logger } from '../../core/log.js';
import type { HealthVerdict } from '../../core/contracts.js';

export interface HealthSources {
  live(): HealthVerdict;
  ready(): HealthVerdict;
  status(): unknown;
  registry: Registry;
}

export interface HealthServer {
  /** host:port actually bound (port 0 resolves here). */
  address: string;
  port: number;
  close(): Promise<void>;
}

export function splitListen(listen: string): { host: string; port: number } {
  return parseHostPort(listen, { key: 'health.listen', anyPort: true });
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Connection bounds: probes and scrapes are a handful of short requests, and every descriptor
 * held here is one the tail pipeline cannot use (1,100 idle connections under `ulimit -n 1024`
 * starved it). Beyond the per-address bound a new connection is closed at once; beyond the total
 * Node refuses it (`maxConnections`).
 */
export const MAX_CONNECTIONS = 64;
export const MAX_CONNECTIONS_PER_ADDRESS = 8;
/** A connection must have sent its request headers within this long; idle keep-alive ends sooner. */
export const HEADERS_TIMEOUT_MS = 2000;
export const KEEP_ALIVE_TIMEOUT_MS = 5000;

export async function startHealthServer(listen: string, sources: HealthSources, logger: Logger): Promise<HealthServer> {
  const { host, port } = splitListen(listen);
  const server: Server = createServer(
    // Node checks requestTimeout/headersTimeout only every connectionsCheckingInterval (30 s by
    // default), so a slow client would hold a socket six times longer than the bound says.
    {
      maxHeaderSize: 8 * 1024,
      requestTimeout: 5000,
      headersTimeout: HEADERS_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: 500,
    },
    (req, res) => {
      handle(req, res, sources).catch((err) => {
        logger.error({ err: String(err), path: safePath(req.url) }, 'health endpoint failed');
        if (!res.headersSent) send(res, req, 500, JSON_TYPE, '{"error":"internal"}\n');
        else res.destroy();
      });
    },
  );
  server.maxRequestsPerSocket = 100;
  server.maxConnections = MAX_CONNECTIONS;
  boundConnections(server);
  server.on('clientError', (_err, socket) => {
    // Malformed or oversized requests: a fixed answer, nothing of the input echoed.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Per-address connection bound and idle timeouts, on every connection the server accepts. */
function boundConnections(server: Server): void {
  const perAddress = new Map<string, number>();
  server.on('connection', (socket) => {
    const addr = socket.remoteAddress ?? '';
    const n = (perAddress.get(addr) ?? 0) + 1;
    if (n > MAX_CONNECTIONS_PER_ADDRESS) {
      socket.destroy();
      return;
    }
    perAddress.set(addr, n);
    socket.once('close', () => {
      const left = (perAddress.get(addr) ?? 1) - 1;
      if (left <= 0) perAddress.delete(addr);
      else perAddress.set(addr, left);
    });
    // Node's headersTimeout does not end a connection that never sends a byte: until its first
    // request a connection gets the headers timeout of inactivity, after it the keep-alive one.
    socket.setTimeout(HEADERS_TIMEOUT_MS, () => socket.destroy());
  });
  server.on('request', (req: IncomingMessage) => req.socket.setTimeout(KEEP_ALIVE_TIMEOUT_MS));
}

async function handle(req: IncomingMessage, res: ServerResponse, sources: HealthSources): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, req, 405, JSON_TYPE, '{"error":"method not allowed"}\n');
  }
  // A body on GET is not expected; do not read it (bounded by closing).
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/healthz':
      return verdict(res, req, sources.live());
    case '/readyz':
      return verdict(res, req, sources.ready());
    case '/metrics':
      return send(res, req, 200, sources.registry.contentType, await sources.registry.metrics());
    case '/status':
      return send(res, req, 200, JSON_TYPE, JSON.stringify(sources.status(), null, 2) + '\n');
    default:
      return send(res, req, 404, JSON_TYPE, '{"error":"not found","paths":["/healthz","/readyz","/metrics","/status"]}\n');
  }
}

function verdict(res: ServerResponse, req: IncomingMessage, v: HealthVerdict): void {
  send(res, req, v.ok ? 200 : 503, JSON_TYPE, JSON.stringify({ ok: v.ok, reasons: v.reasons }) + '\n');
}

function send(res: ServerResponse, req: IncomingMessage, code: number, type: string, body: string): void {
  res.statusCode = code;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}

function safePath(url: string | undefined): string {
  return (url ?? '').slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
}
