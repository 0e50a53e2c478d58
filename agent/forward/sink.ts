// `warden sink`: a Forward receiver that acks and writes one NDJSON line per record. It is the
// embedded default child where no fluentd is installed, a debugging aid, and the tests' peer.
// It accepts all four event modes over tcp and unix sockets, answers `chunk` with `{ack}` only
// after the lines were handed to the file (write callback), and runs the shared-key handshake.
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import type { Encoder } from '@msgpack/msgpack';
import pino from 'pino';
import { createLogger, type Logger } from '../../core/log.js';
import { formatForwardAddress, parseForwardTo, type ForwardAddress } from './address.js';
import { newEncoder } from './codec.js';
import { encodeMessage } from './encode.js';
import { ForwardProtocolError, SinkOutputError } from './errors.js';
import { heloMessage, newNonce, parsePing, pongMessage, sharedKeyDigest } from './handshake.js';
import { handleMessage, type MessageContext } from './sink-message.js';
import { NdjsonLines, openOutput } from './sink-output.js';
import { unpack } from './unpack.js';
import { MAX_MESSAGE_BYTES, readMessages } from './walk.js';

export { formatTime } from './sink-output.js';

export interface SinkOptions {
  /** tcp://HOST:PORT (port 0 = any free port) or unix:///PATH */
  listen: string;
  /** NDJSON output file (appended; parent directories created) or `-` for stdout. */
  out: string;
  /** Count records, write nothing. */
  countOnly?: boolean;
  /** Shared key for the HELO/PING/PONG handshake; null = no handshake. */
  sharedKey: string | null;
  /** The hostname sent in PONG. */
  hostname?: string;
  logger?: Logger;
  /** The largest message taken, as sent and, for CompressedPackedForward, once gunzipped (default MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
}

export interface SinkStats {
  /** Records written (or counted, with countOnly). */
  records: number;
  /** Forward messages taken, of any mode. */
  chunks: number;
  /** Connections accepted since start. */
  connections: number;
  /** Peers refused for a wrong shared-key digest. */
  authFailures: number;
}

export interface Sink {
  /** Where it listens, usable as `forward.to`: the real port when asked for port 0. */
  readonly address: string;
  readonly port: number | null;
  stats(): SinkStats;
  /** Stop listening, drop connections, flush and close the output. */
  close(): Promise<void>;
}

export async function startSink(opts: SinkOptions): Promise<Sink> {
  const logger = opts.logger ?? pino({ enabled: false });
  const addr = parseForwardTo(opts.listen);
  const hostname = opts.hostname ?? `sink@${osHostname()}`;
  const maxMessageBytes = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const out = opts.countOnly
    ? null
    : openOutput(opts.out, (bytes) => logger.warn({ out: opts.out, bytes }, 'the output ended in an unfinished line (a sink stopped in the middle of a write); cut, its records were not acked and come again'));
  const stats: SinkStats = { records: 0, chunks: 0, connections: 0, authFailures: 0 };
  const sockets = new Set<Socket>();
  const busy = new Set<Promise<void>>();

  const server = createServer((socket) => {
    stats.connections++;
    sockets.add(socket);
    const done = serveConnection(socket, { out, stats, sharedKey: opts.sharedKey, hostname, logger, lines: new NdjsonLines(), encoder: newEncoder(), maxMessageBytes })
      .catch((err) => logger.error({ err: String(err) }, 'sink connection failed'))
      .finally(() => {
        sockets.delete(socket);
        busy.delete(done);
      });
    busy.add(done);
  });

  await listen(server, addr);
  let bound: ForwardAddress = addr;
  let port: number | null = null;
  if (addr.kind === 'tcp') {
    const a = server.address();
    port = typeof a === 'object' && a ? a.port : addr.port;
    bound = { ...addr, port };
  }

  let closing: Promise<void> | null = null;
  return {
    address: formatForwardAddress(bound),
    port,
    stats: () => ({ ...stats }),
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await closed;
        await Promise.allSettled([...busy]);
        await out?.close();
        if (addr.kind === 'unix') removeStaleSocket(addr.path);
      })();
      return closing;
    },
  };
}

interface ConnectionContext extends MessageContext {
  stats: SinkStats;
  sharedKey: string | null;
  hostname: string;
  logger: Logger;
  /** Encodes this connection's replies (its buffer is reused ack after ack). */
  encoder: Encoder;
}

/**
 * One peer: handshake (when a shared key is set), then messages one at a time. Reading waits for
 * each message's write, so a slow output pushes back on the peer instead of buffering.
 * Malformed input closes this connection only. An output that fails is not the peer's fault: the
 * connection stays open and nothing more is acked on it (the peer's ack timeout ends it), since a
 * sender may take a connection closed right after a message as the receiver refusing that message.
 */
async function serveConnection(socket: Socket, ctx: ConnectionContext): Promise<void> {
  const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
  socket.on('error', () => {}); // reported by the read loop below; a reset peer must not crash us
  const nonce = ctx.sharedKey === null ? null : newNonce();
  let authenticated = nonce === null;
  let outputFailed = false;
  if (nonce) socket.write(encodeMessage(heloMessage(nonce)));
  try {
    for await (const msg of readMessages(socket, (m) => unpack(m, { rawStrings: true }), ctx.maxMessageBytes)) {
      if (!authenticated) {
        const ping = parsePing(msg);
        const expected = sharedKeyDigest(ping.salt, ping.hostname, nonce!, ctx.sharedKey!);
        if (ping.digest !== expected) {
          ctx.stats.authFailures++;
          ctx.logger.warn({ peer, hostname: ping.hostname }, 'sink refused a peer: shared key mismatch');
          // Wait for the PONG to be flushed: returning from the for-await destroys the socket.
          await new Promise<void>((resolve) => socket.end(encodeMessage(['PONG', false, 'shared_key mismatch', ctx.hostname, '']), resolve));
          return;
        }
        authenticated = true;
        socket.write(encodeMessage(pongMessage(true, '', ctx.hostname, ping.salt, nonce!, ctx.sharedKey!)));
        continue;
      }
      if (outputFailed) continue;
      let chunk: string | undefined;
      try {
        ({ chunk } = await handleMessage(msg, ctx));
      } catch (err) {
        if (!(err instanceof SinkOutputError)) throw err;
        outputFailed = true;
        ctx.logger.error({ peer, err: err.message }, 'sink cannot write its output; no more acks on this connection');
        continue;
      }
      if (chunk !== undefined && !socket.destroyed) socket.write(encodeMessage({ ack: chunk }, ctx.encoder));
    }
  } catch (err) {
    // Checked by type, not by socket state: leaving the for-await early destroys the socket.
    const e = err as Error & { code?: string };
    if (e instanceof ForwardProtocolError || e.name === 'DecodeError' || e instanceof RangeError) {
      ctx.logger.error({ peer, err: e.message }, 'sink closed a connection: malformed input');
    } else {
      ctx.logger.warn({ peer, err: e.message, code: e.code }, 'sink connection error');
    }
    socket.destroy();
  }
}

function listen(server: Server, addr: ForwardAddress): Promise<void> {
  if (addr.kind === 'unix') {
    mkdirSync(dirname(addr.path), { recursive: true });
    removeStaleSocket(addr.path);
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const ready = () => {
      server.off('error', reject);
      resolve();
    };
    if (addr.kind === 'unix') server.listen(addr.path, ready);
    else server.listen(addr.port, addr.host, ready);
  });
}

/** A socket file left by a previous run blocks listen(); remove it, but never a regular file. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to remove
  }
}

/**
 * The `warden sink` command: listen until SIGTERM/SIGINT, then close and exit 0. warden sends its
 * child SIGUSR2 (reload) and SIGUSR1 (flush); Node's default for those (and SIGHUP) is to die, so
 * they are caught: USR1/USR2 print a stats line on stderr, HUP is logged and ignored.
 */
export async function runSink(opts: { listen: string; out: string; countOnly: boolean; sharedKey: string | null }): Promise<number> {
  const logger = createLogger('info', { stream: process.stderr, tty: false });
  // Handlers first: a stop signal that arrives while the socket is being bound must still end in
  // a clean exit 0, not in Node's default death by signal.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  let sink: Sink | null = null;
  const onStats = () => logger.info({ stats: sink?.stats() ?? null }, 'sink stats');
  const onHup = () => logger.info('sink ignores SIGHUP');
  process.on('SIGUSR1', onStats);
  process.on('SIGUSR2', onStats);
  process.on('SIGHUP', onHup);
  sink = await startSink({ ...opts, logger });
  logger.info({ address: sink.address, out: opts.countOnly ? null : opts.out, handshake: opts.sharedKey !== null }, 'sink listening');
  const signal = await stopSignal;
  logger.info({ signal }, 'sink stopping');
  await sink.close();
  process.off('SIGUSR1', onStats);
  process.off('SIGUSR2', onStats);
  process.off('SIGHUP', onHup);
  if (opts.countOnly) process.stdout.write(JSON.stringify(sink.stats()) + '\n');
  return 0;
}
