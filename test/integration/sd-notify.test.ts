// sd_notify against a real unix datagram socket. Node cannot bind one, so the receiver is a small
// python3 program that prints every datagram as a JSON line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { createNotifier, watchdogIntervalMs } from '../../supervisor/sd-notify.js';

const RECEIVER = `
import json, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + path[1:] if path.startswith("@") else path)
print(json.dumps("BOUND"), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode()), flush=True)
`;
import { skipNote } from '../support/skip.js';

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;
const hasSystemdNotify = spawnSync('systemd-notify', ['--version']).status === 0;

interface Receiver {
  path: string;
  messages: string[];
  /** Waits until some datagram satisfies `pred`. */
  waitFor(pred: (m: string) => boolean, what: string): Promise<string>;
}

let dir: string;
const procs: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-sdnotify-'));
});
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startReceiver(path: string): Promise<Receiver> {
  const proc = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(proc);
  const messages: string[] = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, i)) as string;
        buf = buf.slice(i + 1);
        if (msg === 'BOUND') {
          resolve(receiver);
          continue;
        }
        messages.push(msg);
        for (const w of waiters.splice(0)) w();
      }
    });
    const receiver: Receiver = {
      path,
      messages,
      waitFor(pred, what) {
        return new Promise((res, rej) => {
          const timeout = setTimeout(() => rej(new Error(`no datagram with ${what}; got ${JSON.stringify(messages)}`)), 8000);
          const check = () => {
            const hit = messages.find(pred);
            if (hit !== undefined) {
              clearTimeout(timeout);
              res(hit);
            } else waiters.push(check);
          };
          check();
        });
      },
    };
  });
}

const lines = (m: string) => m.split('\n');
const logger = createLogger('silent');

describe.skipIf(!hasPython || !hasSystemdNotify)(`sd_notify through systemd-notify (no unix-dgram addon)${skipNote(hasPython && hasSystemdNotify ? null : 'needs python3 and systemd-notify')}`, () => {
  for (const kind of ['path', 'abstract'] as const) {
    it(`sends READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 to a ${kind} socket`, async () => {
      const path = kind === 'path' ? join(dir, 'notify.sock') : `@warden-test-${process.pid}-${Date.now()}`;
      const rx = await startReceiver(path);
      const notifier = createNotifier({
        env: { NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid), PATH: process.env.PATH },
        logger,
        addonFrom: join(dir, 'no-addon-here'),
      });
      expect(notifier.enabled).toBe(true);
      expect(notifier.watchdogInterval()).toBe(100);

      notifier.ready();
      notifier.status('child ready\nfiles: 3');
      notifier.startWatchdog();
      await rx.waitFor((m) => lines(m).includes('WATCHDOG=1'), 'WATCHDOG=1');
      notifier.stopping();
      notifier.stop();
      await notifier.idle();

      const ready = await rx.waitFor((m) => lines(m).includes('READY=1'), 'READY=1');
      // --pid names warden as the main process, whoever sends the datagram.
      expect(lines(ready)).toContain(`MAINPID=${process.pid}`);
      await rx.waitFor((m) => lines(m).includes('STATUS=child ready files: 3'), 'STATUS=');
      await rx.waitFor((m) => lines(m).includes('STOPPING=1'), 'STOPPING=1');
      const order = rx.messages
        .map((m) => lines(m).find((l) => /^(READY|STATUS|STOPPING)=/.test(l)))
        .filter((l): l is string => l !== undefined);
      expect(order).toEqual(['READY=1', 'STATUS=child ready files: 3', 'STOPPING=1']);
    });
  }

  it('keeps running and reports once when nothing listens on the socket', async () => {
    const warnings: string[] = [];
    const stream = { write: (s: string) => void warnings.push(s) };
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: join(dir, 'nobody.sock'), PATH: process.env.PATH },
      logger: createLogger('warn', { stream: stream as unknown as NodeJS.WritableStream }),
      addonFrom: join(dir, 'no-addon-here'),
    });
    notifier.ready();
    notifier.status('a');
    notifier.stopping();
    await notifier.idle();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('systemd-notify failed');
    expect(warnings[0]).toContain('nobody.sock');
  });
});

describe.skipIf(!hasPython)(`sd_notify through the unix-dgram addon beside the binary${skipNote(hasPython ? null : 'needs python3')}`, () => {
  // The real addon is not installed here (no compiler downloads); this stand-in has its API and
  // sends the datagram with python3, so the receiver still sees a real datagram.
  it('loads node_modules/unix-dgram next to the executable (stand-in addon)', async () => {
    const path = join(dir, 'notify.sock');
    const rx = await startReceiver(path);
    const addonDir = join(dir, 'bin', 'node_modules', 'unix-dgram');
    mkdirSync(addonDir, { recursive: true });
    writeFileSync(
      join(addonDir, 'index.js'),
      `const { execFileSync } = require('node:child_process');
const send = "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(sys.argv[2].encode(), sys.argv[1])";
exports.createSocket = () => ({
  on() {},
  close() {},
  send(buf, off, len, to, cb) { execFileSync('python3', ['-c', send, to, 'VIA_ADDON=1\\n' + buf.subarray(off, off + len).toString()]); cb(0); },
});
`,
    );
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: path, PATH: process.env.PATH },
      logger,
      addonFrom: join(dir, 'bin', 'warden'),
      notifyCommand: join(dir, 'no-such-systemd-notify'),
    });
    notifier.ready();
    notifier.stopping();
    await notifier.idle();
    notifier.stop();
    expect(lines(await rx.waitFor((m) => lines(m).includes('READY=1'), 'READY=1'))).toContain('VIA_ADDON=1');
    await rx.waitFor((m) => lines(m).includes('STOPPING=1'), 'STOPPING=1');
  });
});

describe('sd_notify without a manager', () => {
  it('is a no-op when NOTIFY_SOCKET is unset', async () => {
    const notifier = createNotifier({ env: { WATCHDOG_USEC: '1000000' }, logger, notifyCommand: join(dir, 'must-not-run') });
    expect(notifier.enabled).toBe(false);
    notifier.ready();
    notifier.startWatchdog();
    notifier.stop();
    await notifier.idle();
  });

  it('pings the watchdog at half of WATCHDOG_USEC, only when it is meant for this pid', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '41' }, 42)).toBeNull();
    expect(watchdogIntervalMs({}, 42)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42)).toBeNull();
  });
});
