// The command line as an operator meets it: every subcommand's --help, and probe/status finding
// the health server from --config.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WARDEN, freePort, tempDir } from '../support/index.js';

function cli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [WARDEN, ...args], { env: { ...process.env, WARDEN_CONFIG: '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A stand-in health server with canned answers, on 127.0.0.1:port. */
async function fakeHealth(): Promise<{ port: number; hits: string[] }> {
  const port = await freePort();
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === '/status') res.end(JSON.stringify({ version: 'x', node_name: 'node-a', ready: { ok: true }, child: { state: 'ready' }, files: [] }));
    else res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  cleanups.push(() => server.close());
  return { port, hits };
}

describe('warden <command> --help', () => {
  it.each(['run', 'check-config', 'probe', 'status', 'sink'])('%s --help prints its own usage and exits 0', async (cmd) => {
    const r = await cli([cmd, '--help']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(`usage: warden ${cmd}`)).toBe(true);
  });

  it('the usage names status --json and --config, and the sink\'s defaults', async () => {
    const top = await cli(['--help']);
    expect(top.stdout).toMatch(/status \[--url URL\] \[--config PATH\] \[--json\]/);
    const sink = await cli(['sink', '-h']);
    expect(sink.stdout).toContain('tcp://127.0.0.1:24224');
    expect(sink.stdout).toMatch(/--out FILE\|-\s+.*\(default -\)/);
    expect(sink.stdout).toContain('$WARDEN_FORWARD_SHARED_KEY');
  });
});

describe('probe and status resolve --config', () => {
  it('find the server from health.listen of the named config (a wildcard address as loopback)', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const { port, hits } = await fakeHealth();
    const cfg = join(t.dir, 'w.yaml');
    writeFileSync(cfg, `health: { listen: 0.0.0.0:${port} }\n`);
    const probe = await cli(['probe', 'ready', '--config', cfg]);
    expect(probe.stderr).toBe('');
    expect(probe.status).toBe(0);
    const status = await cli(['status', '--config', cfg]);
    expect(status.status).toBe(0);
    expect(status.stdout).toContain('on node-a');
    expect(hits).toEqual(['/readyz', '/status']);
  });

  it('an unreadable --config is an error naming the file, exit 2', async () => {
    for (const cmd of ['probe', 'status']) {
      const r = await cli([cmd, '--config', '/nonexistent/warden.yaml']);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('/nonexistent/warden.yaml');
    }
  });
});
