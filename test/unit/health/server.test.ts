import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { createMetrics } from '../../../agent/health/metrics.js';
import { startHealthServer, type HealthServer } from '../../../agent/health/server.js';
import { get } from '../../../agent/health/client.js';
import { createLogger } from '../../../core/log.js';

const quiet = createLogger('silent', { stream: new Writable({ write: (_c, _e, cb) => cb() }) });

function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

describe('health server (real HTTP on loopback)', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(ready = { ok: false, reasons: ['child is starting'] }) {
    const metrics = createMetrics({ defaults: false });
    metrics.childRestarts.inc({ reason: 'signaled' });
    server = await startHealthServer(
      '127.0.0.1:0',
      { live: () => ({ ok: true, reasons: [] }), ready: () => ready, status: () => ({ child: { state: 'starting' } }), registry: metrics.registry },
      quiet,
    );
    return `http://127.0.0.1:${server.port}`;
  }

  it('answers the four endpoints with the verdicts it is given', async () => {
    const base = await start();
    expect((await get(`${base}/healthz`, 2000)).status).toBe(200);
    const r = await get(`${base}/readyz`, 2000);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ ok: false, reasons: ['child is starting'] });
    const m = await get(`${base}/metrics`, 2000);
    expect(m.body).toContain('warden_child_restarts_total{reason="signaled"} 1');
    expect(JSON.parse((await get(`${base}/status`, 2000)).body)).toEqual({ child: { state: 'starting' } });
  });

  it('refuses other methods and unknown paths without echoing input', async () => {
    const base = await start();
    const port = Number(new URL(base).port);
    const post = await raw(port, 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
    expect(post).toMatch(/^HTTP\/1.1 405/);
    const unknown = await raw(port, 'GET /<script>secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(unknown).toMatch(/^HTTP\/1.1 404/);
    expect(unknown).not.toContain('<script>');
    expect(unknown).not.toContain('secret');
    const head = await raw(port, 'HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1.1 503/);
    expect(head.split('\r\n\r\n')[1]).toBe('');
  });

  it('bounds request size: a huge header gets a fixed 4xx answer', async () => {
    const base = await start();
    const port = Number(new URL(base).port);
    const res = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1.1 4\d\d/);
    expect(res).not.toContain('aaaa');
  });
});
