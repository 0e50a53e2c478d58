// sd_notify for `Type=notify` units: READY=1, STATUS=…, WATCHDOG=1, STOPPING=1 to $NOTIFY_SOCKET.
// A no-op when NOTIFY_SOCKET is unset (Kubernetes, a shell, a container).
//
// Node cannot send on a unix datagram socket, so a message leaves by one of two transports:
// 1. the `unix-dgram` addon, loaded from beside the binary (`<dir of warden>/node_modules/unix-dgram`,
//    through createRequire(process.execPath): a single executable cannot load it otherwise). It
//    sends from warden's own pid, which is what `NotifyAccess=main` wants.
// 2. `systemd-notify --pid=<warden's pid> VAR=VALUE…`. It sends from its own pid unless it may
//    fake the credentials (CAP_SYS_ADMIN); under the shipped unit's capability bounding set it may
//    not, so the unit says `NotifyAccess=all`. It is run without --no-block: it then waits until
//    the manager has processed the message, and while it lives systemd can still tell which unit
//    it belongs to (a sender that has already exited cannot be attributed and is dropped).
// Nothing here throws: a failed notification is logged once and the service keeps running.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from '../core/log.js';


export interface Notifier {
  /** False when NOTIFY_SOCKET is unset: every method is then a no-op. */
  readonly enabled: boolean;
  /** `READY=1`: the child is ready and logs flow. */
  ready(): void;
  /** `STATUS=<text>` (newlines become spaces), shown by `systemctl status`. */
  status(text: string): void;
  /** `STOPPING=1`, at the start of a graceful stop. */
  stopping(): void;
  /** Milliseconds between `WATCHDOG=1` pings (half of WATCHDOG_USEC), or null when no watchdog is ours. */
  watchdogInterval(): number | null;
  /** Starts pinging every watchdogInterval(); does nothing without a watchdog. */
  startWatchdog(): void;
  /** Stops the watchdog and releases the transport. Messages already queued are still sent. */
  stop(): void;
  /** Resolves once every message queued so far has been handed over (or has failed). */
  idle(): Promise<void>;
}

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** The pid messages are sent for (default: this process). */
  pid?: number;
  /** A file whose directory's node_modules may hold `unix-dgram` (default: process.execPath). */
  addonFrom?: string;
  /** The fallback program (default: `systemd-notify` on PATH). */
  notifyCommand?: string;
  /** A fallback send that takes longer is killed and counted as failed (default 5000). */
  sendTimeoutMs?: number;
}

/** One way of delivering a message; rejects with an Error naming what failed. */
interface Transport {
  name: string;
  send(fields: string[]): Promise<void>;
  close(): void;
}

export function createNotifier(opts: NotifierOptions): Notifier {
  const env = opts.env ?? process.env;
  const socketPath = env.NOTIFY_SOCKET ?? '';
  const pid = opts.pid ?? process.pid;
  const interval = watchdogIntervalMs(env, pid);
  if (!socketPath) return disabledNotifier(interval);

  const command = commandTransport(socketPath, pid, opts.notifyCommand ?? 'systemd-notify', opts.sendTimeoutMs ?? 5000, env);
  const sender = createSender(socketPath, addonTransport(socketPath, opts.addonFrom ?? process.execPath, opts.logger) ?? command, command, opts.logger);
  let watchdogPending = false;
  let timer: NodeJS.Timeout | null = null;
  return {
    enabled: true,
    ready: () => void sender.enqueue(['READY=1']),
    status: (text) => void sender.enqueue([`STATUS=${text.replace(/[\r\n\0]+/g, ' ')}`]),
    stopping: () => void sender.enqueue(['STOPPING=1']),
    watchdogInterval: () => interval,
    startWatchdog() {
      if (interval === null || timer) return;
      timer = setInterval(() => {
        // A ping still waiting behind others would be late anyway; never let them pile up.
        if (watchdogPending) return;
        watchdogPending = true;
        void sender.enqueue(['WATCHDOG=1']).finally(() => {
          watchdogPending = false;
        });
      }, interval);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      sender.closeWhenIdle();
    },
    idle: () => sender.idle(),
  };
}

function disabledNotifier(interval: number | null): Notifier {
  return {
    enabled: false,
    ready() {},
    status() {},
    stopping() {},
    watchdogInterval: () => interval,
    startWatchdog() {},
    stop() {},
    idle: () => Promise.resolve(),
  };
}

/**
 * Messages leave one after another, in order. When `first` (the addon) fails to send, `command`
 * takes over for good; each kind of failure is warned about once, then logged at debug level.
 */
function createSender(socketPath: string, first: Transport, command: Transport, logger: Logger) {
  let transport = first;
  const warned = new Set<string>();
  let queue: Promise<void> = Promise.resolve();

  const warnOnce = (key: string, msg: string, err: unknown) => {
    const fields = { transport: transport.name, socket: socketPath, err: (err as Error)?.message ?? String(err) };
    if (warned.has(key)) logger.debug(fields, msg);
    else {
      warned.add(key);
      logger.warn(fields, `${msg} (further failures are logged at debug level)`);
    }
  };

  const deliver = async (fields: string[]) => {
    try {
      await transport.send(fields);
    } catch (err) {
      if (transport === command) {
        warnOnce('command', 'sd_notify: systemd-notify failed', err);
        return;
      }
      // The addon loaded but cannot send (e.g. an abstract socket it does not support): use the
      // program from now on.
      warnOnce('addon', 'sd_notify: unix-dgram failed; using systemd-notify', err);
      transport.close();
      transport = command;
      await deliver(fields);
    }
  };

  return {
    enqueue(fields: string[]): Promise<void> {
      queue = queue.then(() => deliver(fields));
      return queue;
    },
    idle: () => queue,
    closeWhenIdle: () => void queue.finally(() => transport.close()),
  };
}

/**
 * Half of WATCHDOG_USEC in milliseconds, as sd_watchdog_enabled(3) advises; null when it is unset
 * or invalid, or when WATCHDOG_PID names another process (the watchdog was meant for a parent).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/** `@name` is an abstract socket: a leading NUL byte on the wire. */
function socketAddress(path: string): string {
  return path.startsWith('@') ? `\0${path.slice(1)}` : path;
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: unknown) => void): void;
  on(event: 'error', fn: (err: unknown) => void): unknown;
  close(): void;
}

function addonTransport(socketPath: string, from: string, logger: Logger): Transport | null {
  let socket: UnixDgramSocket;
  try {
    const mod = createRequire(from)('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
    socket = mod.createSocket('unix_dgram');
  } catch (err) {
    // The usual case: the addon is not shipped.
    logger.debug({ from, err: (err as Error).message }, 'sd_notify: unix-dgram not available; using systemd-notify');
    return null;
  }
  let lastError: unknown = null;
  socket.on('error', (err) => {
    lastError = err;
  });
  const address = socketAddress(socketPath);
  return {
    name: 'unix-dgram',
    send(fields) {
      return new Promise<void>((resolve, reject) => {
        const buf = Buffer.from(fields.join('\n'));
        lastError = null;
        try {
          // unix-dgram reports a failure as a negative errno through the callback, or by 'error'.
          socket.send(buf, 0, buf.length, address, (err) => {
            const failure = err instanceof Error || (typeof err === 'number' && err < 0) ? err : lastError;
            if (failure) reject(new Error(`unix-dgram send to ${socketPath}: ${describe(failure)}`));
            else resolve();
          });
        } catch (err) {
          reject(new Error(`unix-dgram send to ${socketPath}: ${describe(err)}`));
        }
      });
    },
    close() {
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
  };
}

function commandTransport(socketPath: string, pid: number, program: string, timeoutMs: number, env: NodeJS.ProcessEnv): Transport {
  return {
    name: 'systemd-notify',
    send(fields) {
      return new Promise<void>((resolve, reject) => {
        let stderr = '';
        let settled = false;
        let timer: NodeJS.Timeout | undefined;
        const done = (err: Error | null) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        };
        let child;
        try {
          child = spawn(program, [`--pid=${pid}`, ...fields], {
            env: { ...env, NOTIFY_SOCKET: socketPath },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
        } catch (err) {
          done(new Error(`cannot run ${program}: ${(err as Error).message}`));
          return;
        }
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          done(new Error(`${program} did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (s: string) => {
          if (stderr.length < 1000) stderr += s;
        });
        // If `error` is emitted (ENOENT), `close` may never carry an exit code.
        child.on('error', (err: NodeJS.ErrnoException) => done(new Error(`cannot run ${program}: ${err.code ?? err.message}`)));
        child.on('close', (code, signal) => {
          if (code === 0) done(null);
          else done(new Error(`${program} ${fields.join(' ')} exited ${code ?? signal}: ${stderr.trim() || 'no message'}`));
        });
      });
    },
    close() {},
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'number') return `errno ${-err}`;
  return String(err);
}
