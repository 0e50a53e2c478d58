// `warden check-config` / `warden run` on inputs that are not a sane config file: each must end
// promptly with exit 2 and one line naming the file (or key) and the problem.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, WARDEN } from '../support/index.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir('warden-config-input-')));
afterEach(() => cleanup());

function warden(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [WARDEN, ...args], { cwd: dir, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout = (stdout + d).slice(-64 * 1024)));
    p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-64 * 1024)));
    // A hang (e.g. blocked opening a FIFO) is a failure, not a stuck suite.
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('config file input', () => {
  it('refuses /dev/zero as a character device', async () => {
    const r = await warden(['check-config', '--config', '/dev/zero']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/dev/zero is not a regular file (a device); never read');
  }, 30_000);

  it('refuses a FIFO with no writer without blocking', async () => {
    const fifo = join(dir, 'warden.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await warden(['check-config', '--config', fifo]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${fifo} is not a regular file (a fifo); never read`);
  }, 30_000);

  it('refuses a directory', async () => {
    const r = await warden(['check-config', '--config', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${dir} is not a regular file (a directory); never read`);
  }, 30_000);

  it('refuses a 2 MiB file naming the limit', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    const r = await warden(['check-config', '--config', big]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${big} is larger than the 1048576-byte limit`);
  }, 30_000);

  it.each([
    ['forward.to', { forward: { to: 'tcp://127.0.0.1:99999' } }, 'forward.to: port must be 1–65535 (got "tcp://127.0.0.1:99999")'],
    ['health.listen', { health: { listen: '127.0.0.1:99999' } }, 'health.listen: port must be 0–65535 (got "127.0.0.1:99999")'],
  ])('port 99999 in %s: check-config and run both exit 2 with the key and value', async (_key, config, line) => {
    const path = join(dir, 'warden.json');
    writeFileSync(path, JSON.stringify({ state_dir: join(dir, 'state'), ...config }));
    for (const cmd of ['check-config', 'run']) {
      const r = await warden([cmd, '--config', path]);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(line);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 60_000);
});
