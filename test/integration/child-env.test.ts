// The child's environment is one explicit object: the base environment without systemd's notify
// variables, then the configured extras. warden's own process.env is never edited for it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/index.js';
import { childScope } from '../support/child.js';

const node = process.execPath;
const scope = childScope();
const NOTIFY = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '20000000', WATCHDOG_PID: String(process.pid) };

/** A child that writes its environment to $ENV_FILE, then listens on $PORT. */
const dumpEnv = `require('node:fs').writeFileSync(process.env.ENV_FILE, JSON.stringify(process.env)); require('node:net').createServer().listen(Number(process.env.PORT), '127.0.0.1')`;

describe('ChildSupervisor environment', () => {
  it('the child sees its base environment and extras, never NOTIFY_SOCKET, WATCHDOG_USEC or WATCHDOG_PID', async () => {
    const port = await freePort();
    const envFile = join(scope.tempDir(), 'env.json');
    const h = scope.make({
      command: [node, '-e', dumpEnv],
      port,
      baseEnv: { ...process.env, ...NOTIFY, FROM_BASE: 'base' },
      env: { PORT: String(port), ENV_FILE: envFile, EXTRA: 'extra' },
    });
    h.child.start();
    await waitFor('env written', () => existsSync(envFile) && readFileSync(envFile, 'utf8'));
    const seen = JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>;
    expect(seen).toMatchObject({ FROM_BASE: 'base', EXTRA: 'extra', PATH: process.env.PATH });
    for (const key of Object.keys(NOTIFY)) expect(seen).not.toHaveProperty(key);
  });

  it('the check command gets the same environment as the child', async () => {
    const port = await freePort();
    const dir = scope.tempDir();
    const envFile = join(dir, 'env.json');
    const checkFile = join(dir, 'check.json');
    const h = scope.make({
      command: [node, '-e', dumpEnv],
      port,
      baseEnv: { ...process.env, ...NOTIFY },
      env: { PORT: String(port), ENV_FILE: envFile, EXTRA: 'extra' },
    });
    h.child.start();
    await waitFor('ready', () => h.child.status().state === 'ready');
    const check = [node, '-e', `require('node:fs').writeFileSync(${JSON.stringify(checkFile)}, JSON.stringify(process.env))`];
    expect(await h.child.reload(check)).toEqual({ ok: true });
    const seen = JSON.parse(readFileSync(checkFile, 'utf8')) as Record<string, string>;
    expect(seen).toMatchObject({ EXTRA: 'extra', PATH: process.env.PATH });
    for (const key of Object.keys(NOTIFY)) expect(seen).not.toHaveProperty(key);
  });

  it('by default the base is process.env, which is left as it was', async () => {
    const port = await freePort();
    const envFile = join(scope.tempDir(), 'env.json');
    const saved = { ...process.env };
    Object.assign(process.env, NOTIFY);
    try {
      const h = scope.make({ command: [node, '-e', dumpEnv], port, env: { PORT: String(port), ENV_FILE: envFile } });
      h.child.start();
      await waitFor('env written', () => existsSync(envFile) && readFileSync(envFile, 'utf8'));
      expect(JSON.parse(readFileSync(envFile, 'utf8'))).not.toHaveProperty('NOTIFY_SOCKET');
      expect(process.env.NOTIFY_SOCKET).toBe(NOTIFY.NOTIFY_SOCKET);
    } finally {
      for (const key of Object.keys(NOTIFY)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
