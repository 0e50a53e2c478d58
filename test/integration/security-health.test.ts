// Issue 7 item 5: the health server answers only GET/HEAD on its paths, bounds requests, never
// echoes input; /status, /metrics and warden's log leak no shared key and no environment; the
// `auto` key is never written to disk; warden's log escapes control characters from file names
// and from the child's output (every stdout line is one JSON object).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WARDEN, waitFor, readNdjson } from '../support/index.js';
import { wardenScope, spawnWarden } from '../support/warden.js';
import { scopedFaultConfig, wardenConfig } from '../support/faults.js';

const scope = wardenScope();


/** One raw HTTP exchange: what the server sent back before closing (or `waitMs` passed). */
function raw(base: string, request: string | Buffer, waitMs = 3000): Promise<{ text: string; closed: boolean; ms: number }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = connect({ host: hostname, port: Number(port) });
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false, ms: Date.now() - t0 });
    }, waitMs);
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, ms: Date.now() - t0 });
    });
    s.write(request);
  });
}

const SHARED_KEY = 's3cr3t-value-123';
const CANARY = 'canary-env-9f1c2e7d55';
const TOKEN = 'ECHO-TOKEN-71b3';

async function startPlain(sharedKey = SHARED_KEY) {
  const { t, c } = await scopedFaultConfig(scope, 'warden-sec-', { sharedKey });
  writeFileSync(join(c.logs, 'app.log'), 'hello\n');
  scope.running = spawnWarden(t.dir, wardenConfig(c), { env: { WARDEN_TEST_CANARY: CANARY } });
  const w = scope.running;
  await waitFor('a line delivered', () => readNdjson(c.out).some((r) => r.record.log === 'hello'), 15000);
  return { t, c, w };
}

describe('health server surface', () => {
  it('only GET and HEAD: other methods get 405 with Allow and no echo; HEAD has no body; unknown paths 404 without echo', async () => {
    const { w } = await startPlain();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
      for (const path of ['/status', '/metrics', '/healthz', '/readyz']) {
        const r = await raw(w.base, `${method} ${path}?q=${TOKEN} HTTP/1.1\r\nHost: x\r\nX-Token: ${TOKEN}\r\nContent-Length: ${TOKEN.length}\r\nConnection: close\r\n\r\n${TOKEN}`);
        expect(r.text, `${method} ${path}`).toMatch(/^HTTP\/1\.1 405 /);
        expect(r.text).toMatch(/\r\nAllow: GET, HEAD\r\n/i);
        expect(r.text).not.toContain(TOKEN);
      }
    }
    const head = await raw(w.base, 'HEAD /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(head.text.split('\r\n\r\n')[1]).toBe('');
    for (const path of [`/${TOKEN}`, `/status/${TOKEN}`, `/../../etc/passwd?${TOKEN}`, `/%3Cscript%3E${TOKEN}`]) {
      const r = await raw(w.base, `GET ${path} HTTP/1.1\r\nHost: ${TOKEN}\r\nConnection: close\r\n\r\n`);
      expect(r.text, path).toMatch(/^HTTP\/1\.1 404 /);
      expect(r.text).not.toContain(TOKEN);
    }
    expect(w.output()).not.toContain(TOKEN);
  }, 30000);

  it('bounds requests: oversized headers and garbage get a fixed 4xx without echo, and warden keeps serving', async () => {
    const { w } = await startPlain();
    const big = await raw(w.base, `GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${TOKEN}${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect(big.text).toMatch(/^HTTP\/1\.1 4(00|31) /);
    expect(big.text).not.toContain(TOKEN);
    expect(big.text.length).toBeLessThan(512);
    const junk = await raw(w.base, Buffer.concat([Buffer.from(`\x00\x01${TOKEN}\xff\r\n\r\n`, 'latin1')]));
    expect(junk.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(junk.text).not.toContain(TOKEN);
    expect((await w.get('/healthz')).status).toBe(200);
  }, 30000);


  // Node checks request timeouts only every connectionsCheckingInterval; the server sets it to 1 s.
  it('request time is bounded: a client that never finishes its request is disconnected within 10 s', async () => {
    const { w } = await startPlain();
    const r = await raw(w.base, 'GET /status HTTP/1.1\r\nHost: x\r\n', 10000);
    expect(r.closed).toBe(true);
    expect(r.text).not.toContain('"child"');
  }, 30000);
});

describe('secrets', () => {
  it('/status, /metrics and warden\'s log contain neither forward.shared_key nor environment values', async () => {
    const { w } = await startPlain();
    const status = (await w.get('/status')).body;
    const metrics = (await w.get('/metrics')).body;
    for (const [name, body] of [['/status', status], ['/metrics', metrics], ['stdout', w.stdout()], ['all output', w.output()]] as const) {
      expect(body, name).not.toContain(SHARED_KEY);
      expect(body, name).not.toContain(CANARY);
    }
    // The status does show what is safe: the child's command and the Forward address.
    expect(JSON.parse(status).forward.to).toMatch(/^tcp:\/\/127\.0\.0\.1:/);
  }, 30000);

  it('shared_key auto: the key the child got is nowhere on disk (state dir, config dir, sink output) nor in any endpoint or the log', async () => {
    const { t, c, w } = await startPlain('auto');
    const pid = (await w.json('/status')).child.pid as number;
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const key = env.find((e) => e.startsWith('WARDEN_FORWARD_SHARED_KEY='))?.split('=')[1];
    expect(key && key.length).toBeGreaterThanOrEqual(16);
    await w.stop();
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(t.dir);
    expect(files).toContain(join(c.state_dir, 'checkpoints.json'));
    for (const f of files) expect(readFileSync(f, 'latin1').includes(key!), f).toBe(false);
    expect(w.output()).not.toContain(key!);
  }, 30000);
});

describe('warden\'s log escapes control characters', () => {
  it('a file name with ESC[31m and a newline, and child output with ESC, CR and NUL: every stdout line is one JSON object, no raw ESC or CR', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-sec-');
    const evil = join(c.logs, 'evil\x1b[31m\nname\r.log');
    // A FIFO: warden logs its path in a warning (it is never opened).
    expect(spawnSync('mkfifo', [evil]).status).toBe(0);
    const hostile = join(c.logs, 'lines\x1b[0m.log');
    writeFileSync(hostile, 'red \x1b[31mtext\x1b[0m and bell \x07 and cr \r inside\n');
    c.child.command = ['sh', '-c', `printf 'child says \\033[31mred\\033[0m\\rover\\000nul\\n'; exec "$0" "$@"`, process.execPath, WARDEN, 'sink', '--listen', c.forward.to, '--out', c.out];
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('the hostile line delivered', () => readNdjson(c.out).some((r) => String(r.record.log).startsWith('red ')), 15000);
    await waitFor('the FIFO warning', () => w.stdout().includes('not_regular'), 5000);
    await waitFor('the child line', () => w.stdout().includes('child says'), 5000);
    const out = w.stdout();
    expect(out).not.toContain('\x1b');
    expect(out).not.toContain('\r');
    expect(out).not.toContain('\x00');
    const lines = out.split('\n').filter(Boolean);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.find((l) => l.reason === 'not_regular')?.path).toBe(evil);
    expect(parsed.some((l) => typeof l.msg === 'string' && l.msg.includes('child says \x1b[31mred'))).toBe(true);
    // The record itself carries the text as written (escaping is the log's job, not the data's).
    expect(readNdjson(c.out).find((r) => String(r.record.log).startsWith('red '))!.record.log).toBe('red \x1b[31mtext\x1b[0m and bell \x07 and cr \r inside');
  }, 30000);
});
