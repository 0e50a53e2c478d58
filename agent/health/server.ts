// The health server: read-only snapshots over HTTP. It makes no decisions; the composition root
// hands it functions that return verdicts. It answers only GET and HEAD on its known paths,
// bounds request size and time, and never echoes what a client sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../../config/address.js';
import type { Logger } from '../../core/log.js';
import type { HealthVerdict } from '../../core/contracts.js';
import { boundConnections, HEAD_DEADLINE_MS } from './connections.js';

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
 * Node's own request bounds, behind the connection table's (connections.ts), which is stricter and
 * exact: a whole request head within HEAD_DEADLINE_MS of the accept or of the last response.
 * Node enforces headersTimeout and requestTimeout only when it checks, every
 * connectionsCheckingInterval (30 s by default: a 2 s headersTimeout then ends a silent
 * connection after 30 s; at 500 ms, after 2.0 to 2.5 s).
 */
const NODE_HEADERS_TIMEOUT_MS = 2000;
const NODE_REQUEST_TIMEOUT_MS = 5000;
const NODE_CHECK_INTERVAL_MS = 500;
/** What the Keep-Alive header announces; the connection table ends idle connections at HEAD_DEADLINE_MS anyway. */
const KEEP_ALIVE_TIMEOUT_MS = HEAD_DEADLINE_MS;
/**
 * The kernel's queue of connections not yet accepted (capped by net.core.somaxconn). Clients that
 * reconnect as soon as they are dropped fill a short queue, and a probe's SYN that finds it full
 * is dropped and retried only after a second, past a probe's timeout. Queued connections hold no
 * descriptor of warden's.
 */
const LISTEN_BACKLOG = 4096;

export async function startHealthServer(listen: string, sources: HealthSources, logger: Logger): Promise<HealthServer> {
  const { host, port } = splitListen(listen);
  const server: Server = createServer(
    {
      maxHeaderSize: 8 * 1024,
      requestTimeout: NODE_REQUEST_TIMEOUT_MS,
      headersTimeout: NODE_HEADERS_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: NODE_CHECK_INTERVAL_MS,
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
  boundConnections(server);
  server.on('clientError', (_err, socket) => {
    // Malformed or oversized requests: a fixed answer, nothing of the input echoed.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
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
